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

  /** Heap in use right after a forced full GC: what the process keeps alive. */
  static long liveHeapBytes(long pid) throws Exception {
    run(List.of(tool("jcmd"), Long.toString(pid), "GC.run"));
    // jstat -gc columns: S0C S1C S0U S1U EC EU OC OU ... (KB); used = S0U + S1U + EU + OU.
    List<String> out = run(List.of(tool("jstat"), "-gc", Long.toString(pid)));
    String[] header = out.get(0).trim().split("\\s+");
    String[] values = out.get(1).trim().split("\\s+");
    double usedKb = 0;
    for (int i = 0; i < header.length; i++) {
      if (List.of("S0U", "S1U", "EU", "OU").contains(header[i])) {
        usedKb += Double.parseDouble(values[i]);
      }
    }
    return (long) (usedKb * 1024);
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
