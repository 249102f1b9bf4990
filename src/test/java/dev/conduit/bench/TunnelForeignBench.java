package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.testing.ChildServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The tunnel benchmarks with a client that is not ours: Node.js {@code ws} peers ({@link NodePeer}), each
 * in its own process, on three paths measured in one run:
 * <ul>
 *   <li><b>direct</b>: the Node client → a Node {@code ws} server that decodes every frame as an instance
 *       would (JSON, then base64); the baseline (ratio 1);</li>
 *   <li><b>layer</b>: the Node client → a bare pekko-http WebSocket server ({@link DirectWebSocketServer}
 *       {@code /sink} and {@code /echo}): what pekko-http costs before any relay code;</li>
 *   <li><b>relayed</b>: the Node client → Conduit → a Node instance process (decodes, echoes probes).</li>
 * </ul>
 * {@code tunnel-throughput-node} sends {@code {"type":"message","payload":<base64>}} as fast as the socket
 * takes it; {@code tunnel-latency-node} times round trips of 16-byte payloads at a fixed aggregate rate.
 */
final class TunnelForeignBench implements Benchmark {
  private static final int[] PAYLOAD_SIZES = java.util.Arrays.stream(
      System.getProperty("bench.payload-sizes", "65536,1024").split(",")).mapToInt(Integer::parseInt).toArray();
  private static final int[] SESSIONS = java.util.Arrays.stream(
      System.getProperty("bench.sessions", "1,1000").split(",")).mapToInt(Integer::parseInt).toArray();
  private static final long WARMUP_SECONDS = Long.getLong("bench.warmup-seconds", 4);
  private static final long ROUND_SECONDS = Long.getLong("bench.round-seconds", 5);
  private static final long MEASURE_SECONDS = Long.getLong("bench.measure-seconds", 15);
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  private static final int RATE = Integer.getInteger("bench.rate", 1000);
  /** Sessions per instance in the latency runs (below max-sessions-per-instance). */
  private static final int SESSIONS_PER_INSTANCE = 100;
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(120);
  private static final Map<Integer, Double> MAX_ADDED_P50_MS = Map.of(1, 0.15);
  private static final Map<Integer, Double> MAX_ADDED_P99_MS = Map.of(1, 0.5, 1000, 2.0);
  private static final Map<Integer, Double> MIN_RATIO = Map.of(65536, 0.85, 1024, 0.8);

  /** Another build of Conduit measured as a fourth path in the same run (e.g. the previous commit's jar), or null. */
  private static final String COMPARE_JAR = System.getProperty("bench.compare-jar");

  private final boolean latency;

  TunnelForeignBench(boolean latency) {
    this.latency = latency;
  }

  @Override
  public String name() {
    return latency ? "tunnel-latency-node" : "tunnel-throughput-node";
  }

  /** One way through: where the client connects, the instance id to connect to ("-": none), its servers. */
  private record Path3(String name, String url, String instanceIds, List<Supplier<Duration>> servers) {
    double cores(List<Duration> before, double seconds) {
      List<Double> cores = new ArrayList<>();
      for (int i = 0; i < servers.size(); i++) {
        cores.add(servers.get(i).get().minus(before.get(i)).toNanos() / 1e9 / seconds);
      }
      return cores.stream().mapToDouble(Double::doubleValue).sum();
    }

    List<Duration> cpu() {
      return servers.stream().map(Supplier::get).toList();
    }
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    report.fact("load average at the start", Machine.loadAverage());
    int instances = latency ? Math.max(1, java.util.Arrays.stream(SESSIONS).max().orElse(1) / SESSIONS_PER_INSTANCE) : 1;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < instances; i++) {
      ids.add(RelayPeer.newInstanceId());
    }
    int directPort = ChildServer.freePort();
    Path compareDir = runDir.resolve("compare");
    try (ChildJvm relay = ChildJvm.conduit(BenchConfig.JAR, TunnelBenchEnv.of(runDir), runDir);
         ChildJvm other = COMPARE_JAR == null ? null
             : ChildJvm.conduit(Path.of(COMPARE_JAR), TunnelBenchEnv.of(compareDir), compareDir);
         ChildJvm layer = ChildJvm.main("pekko-layer", DirectWebSocketServer.class, runDir);
         NodePeer direct = NodePeer.start(runDir, "node-direct", "direct-server", List.of(Integer.toString(directPort)))) {
      direct.next(SETUP_TIMEOUT);
      List<String> instanceArgs = new ArrayList<>(List.of("ws://127.0.0.1:" + relay.port() + "/relay/tunnel/websocket"));
      instanceArgs.addAll(ids);
      List<String> otherArgs = new ArrayList<>(instanceArgs);
      if (other != null) {
        otherArgs.set(0, "ws://127.0.0.1:" + other.port() + "/relay/tunnel/websocket");
      }
      try (NodePeer instance = NodePeer.start(runDir, "node-instance", "instance", instanceArgs);
           NodePeer otherInstance = other == null ? null : NodePeer.start(compareDir, "node-instance", "instance", otherArgs)) {
        instance.next(SETUP_TIMEOUT);
        if (otherInstance != null) {
          otherInstance.next(SETUP_TIMEOUT);
        }
        List<Path3> paths = new ArrayList<>(List.of(
            new Path3("direct", "ws://127.0.0.1:" + directPort + "/", "-", List.of(direct::cpuTime)),
            new Path3("layer", "ws://127.0.0.1:" + layer.port() + (latency ? "/echo" : "/sink"), "-", List.of(layer::cpuTime)),
            new Path3("relayed", "ws://127.0.0.1:" + relay.port() + "/relay/client/websocket", String.join(",", ids),
                List.of(relay::cpuTime, instance::cpuTime))));
        if (other != null) {
          paths.add(new Path3("compared", "ws://127.0.0.1:" + other.port() + "/relay/client/websocket", String.join(",", ids),
              List.of(other::cpuTime, otherInstance::cpuTime)));
          report.fact("compared", "the same relayed path through " + COMPARE_JAR);
        }
        if (latency) {
          for (int sessions : SESSIONS) {
            latency(sessions, paths, runDir, report);
          }
        } else {
          for (int size : PAYLOAD_SIZES) {
            throughput(size, paths, runDir, report);
          }
        }
      }
    }
    report.fact("client", "Node.js " + nodeVersion() + " with ws (bench/node/package-lock.json), one process per run; "
        + "direct = Node ws server decoding like an instance; layer = bare pekko-http WebSocket server (no relay); "
        + "relayed = Conduit + a Node instance process");
    report.fact("load average at the end", Machine.loadAverage());
    return report;
  }

  private void throughput(int size, List<Path3> paths, Path runDir, BenchReport report) throws Exception {
    for (Path3 path : paths) {
      throughputRound(path, size, WARMUP_SECONDS, runDir);
    }
    Map<String, List<double[]>> rounds = new LinkedHashMap<>();
    for (int i = 0; i < ROUNDS; i++) {
      for (Path3 path : paths) {
        rounds.computeIfAbsent(path.name(), k -> new ArrayList<>()).add(throughputRound(path, size, ROUND_SECONDS, runDir));
      }
    }
    Map<String, double[]> median = new LinkedHashMap<>();
    rounds.forEach((name, list) -> {
      list.sort((a, b) -> Double.compare(a[0], b[0]));
      median.put(name, list.get(list.size() / 2));
      System.out.printf(Locale.ROOT, "  %d B %s: %s msg/s%n", size, name,
          list.stream().map(r -> String.format(Locale.ROOT, "%.0f", r[0])).toList());
    });
    String label = size >= 1024 ? size / 1024 + " KiB payload" : size + " B payload";
    double mib = size / (1024.0 * 1024.0);
    double[] d = median.get("direct");
    for (String name : List.of("relayed", "layer", "compared")) {
      double[] r = median.get(name);
      if (r == null) {
        continue;
      }
      report.ratio("throughput " + name + " vs direct, " + label, "MiB/s", r[0] * mib, d[0] * mib,
          name.equals("relayed") ? MIN_RATIO.get(size) : null);
    }
    median.forEach((name, r) -> report.fact("cpu " + label + ", " + name + " (server(s) / client)",
        String.format(Locale.ROOT, "%.2f / %.2f cores; %.1f ms server CPU per MiB", r[1], r[2], r[1] * 1000 / (r[0] * mib))));
  }

  /** {msg/s, server cores, client cores} of one run of the Node sender. */
  private static double[] throughputRound(Path3 path, int size, long seconds, Path runDir) throws Exception {
    List<Duration> before = path.cpu();
    long start = System.nanoTime();
    try (NodePeer client = NodePeer.start(runDir, "node-client", "throughput",
        List.of(path.url(), path.instanceIds().split(",")[0], Integer.toString(size), Long.toString(seconds)))) {
      JsonNode result = client.next(Duration.ofSeconds(seconds + 120));
      double wall = (System.nanoTime() - start) / 1e9;
      double clientSeconds = result.get("seconds").asDouble();
      // Server CPU over the whole client run (connect included) against that run's wall time.
      return new double[] {result.get("sent").asLong() / clientSeconds, path.cores(before, wall),
          result.get("cpu").asDouble() / clientSeconds};
    }
  }

  private void latency(int sessions, List<Path3> paths, Path runDir, BenchReport report) throws Exception {
    Map<String, JsonNode> results = new LinkedHashMap<>();
    for (Path3 path : paths) {
      List<Duration> before = path.cpu();
      long start = System.nanoTime();
      try (NodePeer client = NodePeer.start(runDir, "node-client", "latency", List.of(path.url(), path.instanceIds(),
          Integer.toString(sessions), Integer.toString(RATE), Long.toString(WARMUP_SECONDS), Long.toString(MEASURE_SECONDS)))) {
        JsonNode result = client.next(SETUP_TIMEOUT.plusSeconds(WARMUP_SECONDS + MEASURE_SECONDS));
        double wall = (System.nanoTime() - start) / 1e9;
        results.put(path.name(), result);
        report.fact("cpu " + sessions + " sessions, " + path.name() + " (server(s) / client)", String.format(Locale.ROOT,
            "%.2f / %.2f cores", path.cores(before, wall), result.get("cpu").asDouble() / result.get("seconds").asDouble()));
      }
    }
    JsonNode d = results.get("direct");
    String label = sessions + " session" + (sessions == 1 ? "" : "s");
    for (String name : List.of("relayed", "layer", "compared")) {
      JsonNode r = results.get(name);
      if (r == null) {
        continue;
      }
      boolean relayed = name.equals("relayed");
      report.added("RTT p50 " + name + ", " + label, "ms", r.get("p50").asDouble(), d.get("p50").asDouble(),
          relayed ? MAX_ADDED_P50_MS.get(sessions) : null);
      report.added("RTT p99 " + name + ", " + label, "ms", r.get("p99").asDouble(), d.get("p99").asDouble(),
          relayed ? MAX_ADDED_P99_MS.get(sessions) : null);
      report.added("RTT p999 " + name + ", " + label, "ms", r.get("p999").asDouble(), d.get("p999").asDouble(), null);
    }
    results.forEach((name, r) -> System.out.printf(Locale.ROOT, "  %s, %s: p50 %.3f p99 %.3f p999 %.3f ms (%d samples)%n",
        label, name, r.get("p50").asDouble(), r.get("p99").asDouble(), r.get("p999").asDouble(), r.get("count").asLong()));
    report.fact("samples " + label + " (direct / layer / relayed)", d.get("count") + " / "
        + results.get("layer").get("count") + " / " + results.get("relayed").get("count"));
  }

  private static String nodeVersion() {
    try {
      Process p = new ProcessBuilder(System.getProperty("bench.node", "node"), "--version").start();
      return new String(p.getInputStream().readAllBytes()).trim();
    } catch (Exception e) {
      return "?";
    }
  }
}
