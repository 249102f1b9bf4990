package dev.conduit.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Entry point of {@code scripts/bench <name>|all}: runs benchmarks, prints and writes their figures. */
public final class Bench {
  private Bench() {}

  private static Map<String, Benchmark> benchmarks() {
    Map<String, Benchmark> all = new LinkedHashMap<>();
    for (Benchmark benchmark : List.<Benchmark>of(new TunnelThroughputBench(), new TunnelLatencyBench(),
        new TunnelForeignBench(false), new TunnelForeignBench(true),
        new TunnelIdleBench(), new WebhookIngestBench(), new WebhookE2eBench(), new TunnelClusterBench(),
        new WebhookClusterBench())) {
      all.put(benchmark.name(), benchmark);
    }
    return all;
  }

  public static void main(String[] args) throws Exception {
    Map<String, Benchmark> all = benchmarks();
    if (args.length != 1 || !(all.containsKey(args[0]) || args[0].equals("all"))) {
      System.err.println("usage: scripts/bench <" + String.join("|", all.keySet()) + "|all>");
      System.exit(2);
    }
    List<Benchmark> selected = args[0].equals("all") ? List.copyOf(all.values()) : List.of(all.get(args[0]));
    for (Benchmark benchmark : selected) {
      Path runDir = Files.createTempDirectory("conduit-bench-" + benchmark.name() + "-");
      System.out.println("running " + benchmark.name() + " (server logs in " + runDir + ")");
      BenchReport report = benchmark.run(runDir);
      report.print();
      report.write();
    }
    System.exit(0);
  }
}
