package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.bench.TunnelForeignBench.LatencyRound;
import dev.conduit.bench.TunnelForeignBench.Meter;
import dev.conduit.bench.TunnelForeignBench.Path3;
import dev.conduit.bench.TunnelForeignBench.ThroughputRound;
import dev.conduit.testing.ChildServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The tunnel across a cluster ({@code scripts/bench tunnel-cluster}): a cluster of Conduit nodes
 * ({@link BenchCluster}, bench.cluster-nodes, default 3, over one fresh PostgreSQL database), a Node.js
 * {@code ws} instance process registered on node 0, and the Node {@code ws} clients of
 * {@link TunnelForeignBench} on three paths measured in one run:
 * <ul>
 *   <li><b>direct</b>: the Node client → a Node {@code ws} server decoding like an instance (the baseline of the
 *       foreign-client benchmarks; its added latency is what the relay adds);</li>
 *   <li><b>same-node</b>: the Node client → node 0 → the instance (connected to node 0);</li>
 *   <li><b>cross-node</b>: the Node client → node 1 → (frames between nodes) → node 0 → the instance.</li>
 * </ul>
 * Throughput at bench.payload-sizes (64 KiB and 1 KiB) and round trips at bench.sessions (1 and 100) give
 * cross-node against same-node as ratios and added milliseconds, and each node's CPU per relayed MiB. Before
 * the figures, one JDK client connects on node 1 to see whether this build relays across nodes at all; if
 * not, the cross-node path is left out and the report says so.
 */
final class TunnelClusterBench implements Benchmark {
  private static final int NODES = Integer.getInteger("bench.cluster-nodes", 3);
  private static final int[] PAYLOAD_SIZES = java.util.Arrays.stream(
      System.getProperty("bench.payload-sizes", "65536,1024").split(",")).mapToInt(Integer::parseInt).toArray();
  private static final int[] SESSIONS = java.util.Arrays.stream(
      System.getProperty("bench.sessions", "1,100").split(",")).mapToInt(Integer::parseInt).toArray();
  private static final long WARMUP_SECONDS = Long.getLong("bench.warmup-seconds", 3);
  private static final long ROUND_SECONDS = Long.getLong("bench.round-seconds", 4);
  private static final long MEASURE_SECONDS = Long.getLong("bench.measure-seconds", 8);
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  private static final int RATE = Integer.getInteger("bench.rate", 1000);
  /** Include the Node direct path (the baseline of the added latency); off saves a third of the run. */
  private static final boolean DIRECT = Boolean.parseBoolean(System.getProperty("bench.cluster-direct", "true"));
  /** Sessions per instance id in the latency runs, as in tunnel-latency-node. */
  private static final int SESSIONS_PER_INSTANCE = 100;
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(120);
  /** The cross-node probe: tries, and the pause between them (an instance's location may take a moment to spread). */
  private static final int PROBE_TRIES = 3;
  private static final Duration PROBE_PAUSE = Duration.ofSeconds(2);
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(20);
  private static final int INSTANCE_NODE = 0;
  private static final int CLIENT_NODE = 1;

  @Override
  public String name() {
    return "tunnel-cluster";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    if (NODES < 2) {
      throw new IllegalArgumentException("bench.cluster-nodes must be 2 or more");
    }
    BenchReport report = new BenchReport(name());
    report.fact("load average at the start", Machine.loadAverage());
    int instances = Math.max(1, java.util.Arrays.stream(SESSIONS).max().orElse(1) / SESSIONS_PER_INSTANCE);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < instances; i++) {
      ids.add(RelayPeer.newInstanceId());
    }
    int directPort = ChildServer.freePort();
    try (PostgresBenchDatabase db = PostgresBenchDatabase.create();
         BenchCluster cluster = BenchCluster.start(NODES, i -> {
           Map<String, String> env = new HashMap<>(TunnelBenchEnv.of(BenchCluster.nodeDir(runDir, i)));
           env.putAll(db.conduitEnv());
           return env;
         }, runDir, null);
         NodePeer direct = DIRECT ? NodePeer.start(runDir, "node-direct", "direct-server",
             List.of(Integer.toString(directPort))) : null) {
      if (direct != null) {
        direct.next(SETUP_TIMEOUT);
      }
      ChildJvm instanceNode = cluster.node(INSTANCE_NODE);
      ChildJvm clientNode = cluster.node(CLIENT_NODE);
      List<String> instanceArgs = new ArrayList<>(List.of(
          "ws://127.0.0.1:" + instanceNode.port() + "/relay/tunnel/websocket"));
      instanceArgs.addAll(ids);
      try (NodePeer instance = NodePeer.start(runDir, "node-instance", "instance", instanceArgs)) {
        instance.next(SETUP_TIMEOUT);
        List<Meter> meters = new ArrayList<>();
        for (int i = 0; i < cluster.size(); i++) {
          meters.add(new Meter("node-" + i, cluster.node(i)::cpuTime));
        }
        meters.add(new Meter("node-instance", instance::cpuTime));
        String crossNodeError = probeCrossNode(clientNode.port(), ids.get(0));
        String allIds = String.join(",", ids);
        List<Path3> paths = new ArrayList<>();
        if (direct != null) {
          paths.add(new Path3("direct", "ws://127.0.0.1:" + directPort + "/", "-",
              List.of(new Meter("node-direct", direct::cpuTime))));
        }
        paths.add(new Path3("same-node", clientUrl(instanceNode), allIds, meters));
        if (crossNodeError == null) {
          paths.add(new Path3("cross-node", clientUrl(clientNode), allIds, meters));
        } else {
          report.fact("cross-node", "NOT MEASURED: this build does not relay across nodes (a client on node "
              + CLIENT_NODE + " connecting to an instance on node " + INSTANCE_NODE + " got: " + crossNodeError + ")");
        }
        for (int size : PAYLOAD_SIZES) {
          throughput(size, paths, cluster.size(), runDir, report);
        }
        for (int sessions : SESSIONS) {
          latency(sessions, paths, runDir, report);
        }
      }
    }
    report.fact("cluster", NODES + " Conduit nodes (fat jar, one JVM each, -Xmx" + BenchConfig.SERVER_HEAP
        + ") on loopback over one PostgreSQL database; the instance process is connected to node " + INSTANCE_NODE
        + "; same-node clients connect to node " + INSTANCE_NODE + ", cross-node clients to node " + CLIENT_NODE
        + (NODES > 2 ? "; the other nodes carry no sockets (sharding may still place entities on them)" : ""));
    report.fact("client", "Node.js " + TunnelForeignBench.nodeVersion() + " with ws (bench/node/package-lock.json): "
        + "a client and an instance that are not Conduit's code; direct = Node ws server decoding like an instance");
    report.fact("rounds", "throughput: " + ROUNDS + " rounds of " + ROUND_SECONDS + " s per path, paths in turn, after "
        + WARMUP_SECONDS + " s warm-up each, median by rate; latency: " + RATE + " round trips/s in all, "
        + WARMUP_SECONDS + " s warm-up, " + MEASURE_SECONDS + " s measured per path, " + SESSIONS_PER_INSTANCE
        + " sessions per instance id");
    report.fact("load average at the end", Machine.loadAverage());
    return report;
  }

  private static String clientUrl(ChildJvm node) {
    return "ws://127.0.0.1:" + node.port() + "/relay/client/websocket";
  }

  /** null when a JDK client on clientPort gets {@code connected} to instanceId; else the last answer or failure. */
  private static String probeCrossNode(int clientPort, String instanceId) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String last = null;
    for (int i = 0; i < PROBE_TRIES; i++) {
      try (RelayPeer client = RelayPeer.client(http, URI.create("ws://127.0.0.1:" + clientPort), instanceId)
          .get(PROBE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        return null;
      } catch (java.util.concurrent.ExecutionException e) {
        last = String.valueOf(e.getCause().getMessage());
      } catch (java.util.concurrent.TimeoutException e) {
        last = "no answer within " + PROBE_TIMEOUT;
      }
      Thread.sleep(PROBE_PAUSE.toMillis());
    }
    return last;
  }

  private static void throughput(int size, List<Path3> paths, int nodes, Path runDir, BenchReport report)
      throws Exception {
    Map<String, ThroughputRound> median = TunnelForeignBench.throughputMedians(size, paths, runDir, WARMUP_SECONDS,
        ROUND_SECONDS, ROUNDS);
    String label = TunnelForeignBench.payloadLabel(size);
    double mib = size / (1024.0 * 1024.0);
    ThroughputRound same = median.get("same-node");
    ThroughputRound cross = median.get("cross-node");
    ThroughputRound d = median.get("direct");
    if (d != null) {
      report.ratio("throughput same-node vs direct, " + label, "MiB/s", same.perSecond() * mib, d.perSecond() * mib,
          null);
    }
    if (cross != null) {
      report.ratio("throughput cross-node vs same-node, " + label, "MiB/s", cross.perSecond() * mib,
          same.perSecond() * mib, null);
      report.ratio("relay CPU per MiB (all nodes) cross-node vs same-node, " + label, "ms/MiB",
          relayMillisPerMib(cross, nodes, mib), relayMillisPerMib(same, nodes, mib), null);
    } else {
      report.absolute("relay CPU per MiB (all nodes) same-node, " + label, "ms/MiB", relayMillisPerMib(same, nodes, mib),
          null, null);
    }
    for (Map.Entry<String, ThroughputRound> entry : median.entrySet()) {
      Path3 path = paths.stream().filter(p -> p.name().equals(entry.getKey())).findFirst().orElseThrow();
      ThroughputRound r = entry.getValue();
      report.fact("cpu " + label + ", " + path.name() + " (ms of CPU per relayed MiB, by process; client cores)",
          perMib(path, r, mib) + String.format(Locale.ROOT, "; client %.2f cores", r.clientCores()));
    }
  }

  /** CPU of the Conduit nodes (the first nodes meters of a relayed path) per relayed MiB, in ms. */
  private static double relayMillisPerMib(ThroughputRound r, int nodes, double mib) {
    double cores = 0;
    for (int i = 0; i < nodes; i++) {
      cores += r.serverCores()[i];
    }
    return cores * 1000 / (r.perSecond() * mib);
  }

  private static String perMib(Path3 path, ThroughputRound r, double mib) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < path.servers().size(); i++) {
      parts.add(String.format(Locale.ROOT, "%s %.1f (%.2f cores)", path.servers().get(i).name(),
          r.serverCores()[i] * 1000 / (r.perSecond() * mib), r.serverCores()[i]));
    }
    return String.format(Locale.ROOT, "%.1f MiB/s: ", r.perSecond() * mib) + String.join(", ", parts);
  }

  private static void latency(int sessions, List<Path3> paths, Path runDir, BenchReport report) throws Exception {
    Map<String, LatencyRound> results = new LinkedHashMap<>();
    for (Path3 path : paths) {
      LatencyRound round = TunnelForeignBench.latencyRound(path, sessions, RATE, WARMUP_SECONDS, MEASURE_SECONDS, runDir);
      results.put(path.name(), round);
      report.fact("cpu " + sessions + " sessions, " + path.name() + " (cores by process)",
          path.split(round.serverCores()) + String.format(Locale.ROOT, "; client %.2f", round.clientCores()));
    }
    String label = sessions + " session" + (sessions == 1 ? "" : "s");
    JsonNode same = results.get("same-node").result();
    LatencyRound direct = results.get("direct");
    LatencyRound cross = results.get("cross-node");
    for (String p : List.of("p50", "p99")) {
      if (direct != null) {
        report.added("RTT " + p + " same-node vs direct, " + label, "ms", same.get(p).asDouble(),
            direct.result().get(p).asDouble(), null);
        if (cross != null) {
          report.added("RTT " + p + " cross-node vs direct, " + label, "ms", cross.result().get(p).asDouble(),
              direct.result().get(p).asDouble(), null);
        }
      }
      if (cross != null) {
        report.added("RTT " + p + " cross-node vs same-node, " + label, "ms", cross.result().get(p).asDouble(),
            same.get(p).asDouble(), null);
      }
    }
    results.forEach((name, r) -> System.out.printf(Locale.ROOT, "  %s, %s: p50 %.3f p99 %.3f p999 %.3f ms (%d samples)%n",
        label, name, r.result().get("p50").asDouble(), r.result().get("p99").asDouble(),
        r.result().get("p999").asDouble(), r.result().get("count").asLong()));
    List<String> counts = new ArrayList<>();
    results.forEach((name, r) -> counts.add(name + " " + r.result().get("count").asLong()));
    report.fact("samples " + label, String.join(" / ", counts));
  }
}
