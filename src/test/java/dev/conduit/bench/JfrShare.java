package dev.conduit.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * The share of a JFR recording's CPU samples ({@code jdk.ExecutionSample}) whose stack holds a frame of
 * each given code, e.g. how much of Conduit's on-CPU time under a benchmark is spent recording metrics:
 * {@code java -cp ... dev.conduit.bench.JfrShare conduit.jfr dev.conduit.tunnel.TunnelMetrics io.prometheus}.
 * A prefix matches a frame's declaring class name (a package or a class). A sample counts once per
 * prefix however many matching frames it has; "any" counts a sample matching at least one prefix.
 */
public final class JfrShare {
  private JfrShare() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: JfrShare <recording.jfr> <class-or-package-prefix>...");
      System.exit(2);
    }
    List<String> prefixes = List.of(args).subList(1, args.length);
    Map<String, Long> hits = new LinkedHashMap<>();
    prefixes.forEach(prefix -> hits.put(prefix, 0L));
    long total = 0;
    long any = 0;
    for (RecordedEvent event : RecordingFile.readAllEvents(Path.of(args[0]))) {
      if (!event.getEventType().getName().equals("jdk.ExecutionSample") || event.getStackTrace() == null) {
        continue;
      }
      total++;
      List<String> matched = new ArrayList<>();
      for (RecordedFrame frame : event.getStackTrace().getFrames()) {
        String type = frame.getMethod().getType().getName();
        for (String prefix : prefixes) {
          if (type.startsWith(prefix) && !matched.contains(prefix)) {
            matched.add(prefix);
          }
        }
      }
      matched.forEach(prefix -> hits.merge(prefix, 1L, Long::sum));
      any += matched.isEmpty() ? 0 : 1;
    }
    System.out.printf(Locale.ROOT, "samples %d%n", total);
    for (Map.Entry<String, Long> hit : hits.entrySet()) {
      System.out.printf(Locale.ROOT, "%-50s %8d  %.3f %%%n", hit.getKey(), hit.getValue(), percent(hit.getValue(), total));
    }
    System.out.printf(Locale.ROOT, "%-50s %8d  %.3f %%%n", "any of them", any, percent(any, total));
  }

  private static double percent(long part, long total) {
    return total == 0 ? 0 : 100.0 * part / total;
  }
}
