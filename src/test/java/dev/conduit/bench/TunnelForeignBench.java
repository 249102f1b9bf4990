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

  /** A process whose CPU a path is charged with, by name (a relay node, an instance process, a baseline server). */
  record Meter(String name, Supplier<Duration> cpu) {}

  /** One way through: where the client connects, the instance id to connect to ("-": none), its servers. */
  record Path3(String name, String url, String instanceIds, List<Meter> servers) {
    /** Cores each server used since before, over seconds, in the order of servers. */
    double[] coresEach(List<Duration> before, double seconds) {
      double[] cores = new double[servers.size()];
      for (int i = 0; i < servers.size(); i++) {
        cores[i] = servers.get(i).cpu().get().minus(before.get(i)).toNanos() / 1e9 / seconds;
      }
      return cores;
    }

    List<Duration> cpu() {
      return servers.stream().map(meter -> meter.cpu().get()).toList();
    }

    /** "name 0.52, name 0.31" for each server's cores. */
    String split(double[] cores) {
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < servers.size(); i++) {
        parts.add(String.format(Locale.ROOT, "%s %.2f", servers.get(i).name(), cores[i]));
      }
      return String.join(", ", parts);
    }
  }

  /** One run of the Node sender: messages per second, each server's cores (as in Path3.servers), the client's. */
  record ThroughputRound(double perSecond, double[] serverCores, double clientCores) {
    double serverCoresTotal() {
      return java.util.Arrays.stream(serverCores).sum();
    }
  }

  /** One run of the Node latency client: its JSON line (count, p50, p99, p999 in ms), servers' and its own cores. */
  record LatencyRound(JsonNode result, double[] serverCores, double clientCores) {
    double serverCoresTotal() {
      return java.util.Arrays.stream(serverCores).sum();
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
            new Path3("direct", "ws://127.0.0.1:" + directPort + "/", "-", List.of(new Meter("node-direct", direct::cpuTime))),
            new Path3("layer", "ws://127.0.0.1:" + layer.port() + (latency ? "/echo" : "/sink"), "-",
                List.of(new Meter("pekko-layer", layer::cpuTime))),
            new Path3("relayed", "ws://127.0.0.1:" + relay.port() + "/relay/client/websocket", String.join(",", ids),
                List.of(new Meter("relay", relay::cpuTime), new Meter("node-instance", instance::cpuTime)))));
        if (other != null) {
          paths.add(new Path3("compared", "ws://127.0.0.1:" + other.port() + "/relay/client/websocket", String.join(",", ids),
              List.of(new Meter("relay", other::cpuTime), new Meter("node-instance", otherInstance::cpuTime))));
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
    Map<String, ThroughputRound> median = throughputMedians(size, paths, runDir, WARMUP_SECONDS, ROUND_SECONDS, ROUNDS);
    String label = payloadLabel(size);
    double mib = size / (1024.0 * 1024.0);
    ThroughputRound d = median.get("direct");
    for (String name : List.of("relayed", "layer", "compared")) {
      ThroughputRound r = median.get(name);
      if (r == null) {
        continue;
      }
      report.ratio("throughput " + name + " vs direct, " + label, "MiB/s", r.perSecond() * mib, d.perSecond() * mib,
          name.equals("relayed") ? MIN_RATIO.get(size) : null);
    }
    for (Path3 path : paths) {
      ThroughputRound r = median.get(path.name());
      report.fact("cpu " + label + ", " + path.name() + " (server(s) / client)", String.format(Locale.ROOT,
          "%.2f / %.2f cores; %.1f ms server CPU per MiB (%s)", r.serverCoresTotal(), r.clientCores(),
          r.serverCoresTotal() * 1000 / (r.perSecond() * mib), path.split(r.serverCores())));
    }
  }

  static String payloadLabel(int size) {
    return size >= 1024 ? size / 1024 + " KiB payload" : size + " B payload";
  }

  /**
   * A warm-up run per path, then rounds runs of each path in turn (so every path sees the same machine);
   * the median run of each path by rate, keyed by path name. Each path's rates are printed.
   */
  static Map<String, ThroughputRound> throughputMedians(int size, List<Path3> paths, Path runDir, long warmupSeconds,
                                                        long roundSeconds, int rounds) throws Exception {
    for (Path3 path : paths) {
      throughputRound(path, size, warmupSeconds, runDir);
    }
    Map<String, List<ThroughputRound>> all = new LinkedHashMap<>();
    for (int i = 0; i < rounds; i++) {
      for (Path3 path : paths) {
        all.computeIfAbsent(path.name(), k -> new ArrayList<>()).add(throughputRound(path, size, roundSeconds, runDir));
      }
    }
    Map<String, ThroughputRound> median = new LinkedHashMap<>();
    all.forEach((name, list) -> {
      list.sort((a, b) -> Double.compare(a.perSecond(), b.perSecond()));
      median.put(name, list.get(list.size() / 2));
      System.out.printf(Locale.ROOT, "  %d B %s: %s msg/s%n", size, name,
          list.stream().map(r -> String.format(Locale.ROOT, "%.0f", r.perSecond())).toList());
    });
    return median;
  }

  /** One run of the Node sender on path for seconds (connect included in the servers' CPU window). */
  static ThroughputRound throughputRound(Path3 path, int size, long seconds, Path runDir) throws Exception {
    List<Duration> before = path.cpu();
    long start = System.nanoTime();
    try (NodePeer client = NodePeer.start(runDir, "node-client", "throughput",
        List.of(path.url(), path.instanceIds().split(",")[0], Integer.toString(size), Long.toString(seconds)))) {
      JsonNode result = client.next(Duration.ofSeconds(seconds + 120));
      double wall = (System.nanoTime() - start) / 1e9;
      double clientSeconds = result.get("seconds").asDouble();
      // Server CPU over the whole client run (connect included) against that run's wall time.
      return new ThroughputRound(result.get("sent").asLong() / clientSeconds, path.coresEach(before, wall),
          result.get("cpu").asDouble() / clientSeconds);
    }
  }

  /**
   * One run of the Node latency client on path: sessions sockets (spread over the path's instance ids)
   * sending rate round trips per second in all, warm-up then measured seconds.
   */
  static LatencyRound latencyRound(Path3 path, int sessions, int rate, long warmupSeconds, long measureSeconds,
                                   Path runDir) throws Exception {
    List<Duration> before = path.cpu();
    long start = System.nanoTime();
    try (NodePeer client = NodePeer.start(runDir, "node-client", "latency", List.of(path.url(), path.instanceIds(),
        Integer.toString(sessions), Integer.toString(rate), Long.toString(warmupSeconds), Long.toString(measureSeconds)))) {
      JsonNode result = client.next(SETUP_TIMEOUT.plusSeconds(warmupSeconds + measureSeconds));
      double wall = (System.nanoTime() - start) / 1e9;
      return new LatencyRound(result, path.coresEach(before, wall),
          result.get("cpu").asDouble() / result.get("seconds").asDouble());
    }
  }

  private void latency(int sessions, List<Path3> paths, Path runDir, BenchReport report) throws Exception {
    Map<String, JsonNode> results = new LinkedHashMap<>();
    for (Path3 path : paths) {
      LatencyRound round = latencyRound(path, sessions, RATE, WARMUP_SECONDS, MEASURE_SECONDS, runDir);
      results.put(path.name(), round.result());
      report.fact("cpu " + sessions + " sessions, " + path.name() + " (server(s) / client)", String.format(Locale.ROOT,
          "%.2f / %.2f cores", round.serverCoresTotal(), round.clientCores()));
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

  static String nodeVersion() {
    try {
      Process p = new ProcessBuilder(System.getProperty("bench.node", "node"), "--version").start();
      return new String(p.getInputStream().readAllBytes()).trim();
    } catch (Exception e) {
      return "?";
    }
  }
}
