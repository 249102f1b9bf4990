package dev.conduit.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** CPU, RSS and live heap of a process, read from /proc and the JDK's jcmd/jstat. */
final class ProcessMetrics {
  private ProcessMetrics() {}

  static Duration cpuTime(long pid) {
    return ProcessHandle.of(pid).flatMap(p -> p.info().totalCpuDuration()).orElse(Duration.ZERO);
  }

  /** CPU time of this JVM (the load generator). */
  static Duration ownCpuTime() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return Duration.ofNanos(os.getProcessCpuTime());
  }

  static long rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read RSS of " + pid, e);
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  /**
   * Bytes of live objects: the total of {@code jcmd GC.class_histogram}, which collects first and counts only
   * what survives. It reads the same under every collector (jstat's columns differ between G1, Parallel and
   * ZGC, and ZGC has none of G1's survivor and old columns).
   */
  static long liveHeapBytes(long pid) throws Exception {
    return liveHeapBytes(classHistogram(pid));
  }

  /** The lines of {@code jcmd GC.class_histogram} (a collection first; only what survives is counted). */
  static List<String> classHistogram(long pid) throws Exception {
    return run(List.of(tool("jcmd"), Long.toString(pid), "GC.class_histogram"));
  }

  /** The total of a class histogram's lines, in bytes. */
  static long liveHeapBytes(List<String> histogram) {
    for (String line : histogram) {
      String[] fields = line.trim().split("\\s+");
      if (fields.length == 3 && fields[0].equals("Total")) {
        return Long.parseLong(fields[2]);
      }
    }
    throw new IllegalStateException("no Total line in the class histogram");
  }

  private static String tool(String name) {
    return Path.of(System.getProperty("java.home"), "bin", name).toString();
  }

  private static List<String> run(List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> lines = new String(process.getInputStream().readAllBytes()).lines().toList();
    if (process.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + lines);
    }
    return lines;
  }
}
