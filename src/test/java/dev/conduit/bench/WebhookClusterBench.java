package dev.conduit.bench;

import dev.conduit.bench.WebhookIngestBench.Round;
import dev.conduit.bench.WebhookIngestBench.Side;
import dev.conduit.testing.ChildServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Webhooks on a cluster ({@code scripts/bench webhook-cluster}) against one node in the same run, each with a
 * fresh PostgreSQL database of its own:
 * <ol>
 *   <li><b>ingest</b>: webhook-ingest's load ({@link IngestLoad}: bench.senders closed-loop senders of
 *       bench.body-bytes bodies over bench.endpoints endpoints of a hub that never connects) against one
 *       node, then against bench.cluster-nodes nodes (default 3) with the requests spread over every node's
 *       HTTP port, rounds alternating; 2xx per second and CPU per 2xx of every node (this 2-core machine
 *       cannot show scaling: the per-unit costs are the point);</li>
 *   <li><b>end to end</b>: webhook-e2e's open-loop {@link PacedSender} at bench.e2e-rate (100/s) to the
 *       endpoints of hub "bench", whose production hub client (child JVM) is connected to node 0 only, the
 *       requests spread over every node; ingest→ACK and send→arrival p50/p99 beside the same on one node,
 *       and each node's CPU per webhook.</li>
 * </ol>
 * Endpoint j of the cluster is created through node j mod n's admin API. The ingest requests go to every
 * node for every endpoint (bench.cluster-ingest=any) when this build takes a webhook on a node other than
 * the one its endpoint was created on, which it checks first (auto); otherwise (own) each endpoint's
 * requests go to the node it was created on, and the report says so.
 */
final class WebhookClusterBench implements Benchmark {
  private static final int NODES = Integer.getInteger("bench.cluster-nodes", 3);
  private static final Duration WARMUP = Duration.ofSeconds(Long.getLong("bench.warmup-seconds", 10));
  private static final Duration ROUND = Duration.ofSeconds(Long.getLong("bench.round-seconds", 8));
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  private static final double E2E_RATE = Double.parseDouble(System.getProperty("bench.e2e-rate", "100"));
  private static final Duration E2E_WARMUP = Duration.ofSeconds(Long.getLong("bench.e2e-warmup-seconds", 5));
  private static final Duration E2E_ROUND = Duration.ofSeconds(Long.getLong("bench.e2e-seconds", 20));
  /** How long after the last send every accepted webhook may take to reach the destination. */
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(Long.getLong("bench.e2e-drain-seconds", 30));
  /** auto (probe), any (every endpoint on every node) or own (each endpoint on the node it was created on). */
  private static final String INGEST_LAYOUT = System.getProperty("bench.cluster-ingest", "auto");
  private static final int HUB_NODE = 0;
  /** The cross-node ingest probe: tries, and the pause between (an endpoint created on one node may take a moment to be known). */
  private static final int PROBE_TRIES = 3;
  private static final Duration PROBE_PAUSE = Duration.ofSeconds(2);
  /** X-Bench-Seq of the cluster's measured round starts here (the single node's starts at 0). */
  private static final long CLUSTER_SEQ_BASE = 1_000_000_000L;
  private static final String NOWHERE = "http://127.0.0.1:9/hook/";

  @Override
  public String name() {
    return "webhook-cluster";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    report.fact("load average at the start", Machine.loadAverage());
    HttpClient http = IngestLoad.client(4);
    byte[] body = WebhookBenchSupport.body(WebhookIngestBench.BODY_BYTES);
    int singleGrpc = ChildServer.freePort();
    int[] clusterGrpc = new int[NODES];
    for (int i = 0; i < NODES; i++) {
      clusterGrpc[i] = ChildServer.freePort();
    }
    Path secret = Files.writeString(runDir.resolve("hub.secret"), WebhookBenchSupport.HUB_SECRET);
    try (BenchDestination destination = BenchDestination.start();
         PostgresBenchDatabase singleDb = PostgresBenchDatabase.create();
         ChildJvm single = WebhookBenchSupport.edge(singleDb, singleGrpc, runDir.resolve("single"));
         PostgresBenchDatabase clusterDb = PostgresBenchDatabase.create();
         BenchCluster cluster = BenchCluster.start(NODES, i -> WebhookBenchSupport.edgeEnv(clusterDb, clusterGrpc[i],
             BenchCluster.nodeDir(runDir, i)), runDir, WebhookBenchSupport.ADMIN_TOKEN)) {
      int endpoints = WebhookIngestBench.ENDPOINTS;
      List<URI> singleIdle = WebhookBenchSupport.createEndpoints(http, single.port(), endpoints, "idle", NOWHERE);
      List<URI> clusterIdle = createSpread(http, cluster, endpoints, "idle", NOWHERE);
      boolean anywhere = switch (INGEST_LAYOUT) {
        case "any" -> true;
        case "own" -> false;
        default -> ingestsAnywhere(http, cluster, clusterIdle.get(0), body, report);
      };
      report.fact("cluster ingest layout", anywhere
          ? "any: every endpoint's webhooks are POSTed to every node in turn (most land on a node that does not "
              + "host the endpoint)"
          : "own: each endpoint's webhooks go to the node it was created on (this build does not take a webhook "
              + "on another node, or bench.cluster-ingest=own); cross-node ingest NOT MEASURED");
      ingest(report, single, cluster, singleIdle, layout(clusterIdle, cluster, anywhere), body);

      String hook = destination.base() + "/hook/";
      List<URI> singleBench = WebhookBenchSupport.createEndpoints(http, single.port(), endpoints, "bench", hook);
      List<URI> clusterBench = layout(createSpread(http, cluster, endpoints, "bench", hook), cluster, anywhere);
      try (ChildJvm singleHub = ChildJvm.hubClient(BenchConfig.JAR, "http://127.0.0.1:" + singleGrpc, "bench", secret,
               runDir.resolve("single"));
           ChildJvm clusterHub = ChildJvm.hubClient(BenchConfig.JAR, "http://127.0.0.1:" + clusterGrpc[HUB_NODE],
               "bench", secret, BenchCluster.nodeDir(runDir, HUB_NODE))) {
        WebhookE2eBench.awaitHubConnected(http, single.port());
        WebhookE2eBench.awaitHubConnected(http, cluster.node(HUB_NODE).port());
        e2e(report, http, destination, body, single, singleHub, singleBench, cluster, clusterHub, clusterBench);
      }
    }
    report.fact("setup", "1 node: one Conduit edge; " + NODES + " nodes: a cluster of " + NODES + " Conduit edges on "
        + "loopback over one PostgreSQL database (each side a fresh database), fat jar, one JVM each, -Xmx"
        + BenchConfig.SERVER_HEAP + "; endpoint j of the cluster created through node j mod " + NODES);
    report.fact("load average at the end", Machine.loadAverage());
    return report;
  }

  /** Endpoints 0 .. count-1, endpoint j created through node j mod n; each URL on the node it was created on. */
  private static List<URI> createSpread(HttpClient http, BenchCluster cluster, int count, String hubId,
                                        String destinationPrefix) throws Exception {
    List<URI> urls = new ArrayList<>();
    for (int j = 0; j < count; j++) {
      urls.addAll(WebhookBenchSupport.createEndpoints(http, cluster.node(j % cluster.size()).port(), j, 1, hubId,
          destinationPrefix));
    }
    return urls;
  }

  /**
   * The targets the senders take in turn. own: the URLs as created (consecutive ones on consecutive nodes).
   * any: endpoints.size() * n URLs, the k-th endpoint k mod size on node k mod n, so consecutive requests go to
   * consecutive nodes and (size and n coprime, as 100 and 3) every endpoint reaches every node.
   */
  private static List<URI> layout(List<URI> created, BenchCluster cluster, boolean anywhere) {
    if (!anywhere) {
      return created;
    }
    List<URI> targets = new ArrayList<>();
    for (int k = 0; k < created.size() * cluster.size(); k++) {
      targets.add(onNode(created.get(k % created.size()), cluster.node(k % cluster.size())));
    }
    return targets;
  }

  private static URI onNode(URI url, ChildJvm node) {
    return URI.create("http://127.0.0.1:" + node.port() + url.getPath());
  }

  /** Whether the other nodes answer 2xx to a webhook for an endpoint created on node 0 (a few tries). */
  private static boolean ingestsAnywhere(HttpClient http, BenchCluster cluster, URI createdOnNode0, byte[] body,
                                         BenchReport report) throws Exception {
    List<String> refused = new ArrayList<>();
    for (int attempt = 0; attempt < PROBE_TRIES; attempt++) {
      refused.clear();
      for (int i = 1; i < cluster.size(); i++) {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(onNode(createdOnNode0, cluster.node(i)))
            .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
          refused.add("node " + i + " answered " + response.statusCode() + " " + response.body());
        }
      }
      if (refused.isEmpty()) {
        return true;
      }
      Thread.sleep(PROBE_PAUSE.toMillis());
    }
    report.fact("cross-node ingest probe", "a webhook for an endpoint created on node 0, POSTed to the other nodes: "
        + String.join("; ", refused));
    return false;
  }

  private static void ingest(BenchReport report, ChildJvm single, BenchCluster cluster, List<URI> singleTargets,
                             List<URI> clusterTargets, byte[] body) throws Exception {
    int senders = WebhookIngestBench.SENDERS;
    IngestLoad singleLoad = new IngestLoad(singleTargets, body, senders);
    IngestLoad clusterLoad = new IngestLoad(clusterTargets, body, senders);
    Side one = new Side("1 node", () -> singleLoad.run(senders, ROUND), List.of(single));
    Side many = new Side(NODES + " nodes", () -> clusterLoad.run(senders, ROUND), cluster.nodes());
    singleLoad.run(senders, WARMUP);
    // Each node takes a share of the cluster's requests: n times the warm-up gives every node's JIT about as
    // many requests as the single node's had.
    clusterLoad.run(senders, WARMUP.multipliedBy(cluster.size()));
    List<Round> singleRounds = new ArrayList<>();
    List<Round> clusterRounds = new ArrayList<>();
    for (int i = 0; i < ROUNDS; i++) {
      // The two sides take turns going first.
      if (i % 2 == 1) {
        clusterRounds.add(many.round());
      }
      singleRounds.add(one.round());
      if (i % 2 == 0) {
        clusterRounds.add(many.round());
      }
      System.out.printf("  ingest round %d: 1 node %s, %d nodes %s%n", i + 1, singleRounds.get(i), NODES,
          clusterRounds.get(i));
    }
    Round s = WebhookIngestBench.median(singleRounds);
    Round c = WebhookIngestBench.median(clusterRounds);
    String many3 = NODES + " nodes";
    report.ratio("ingest: webhooks accepted (2xx), " + many3 + " vs 1 node", "1/s", c.perSecond(), s.perSecond(), null);
    report.ratio("ingest: Conduit CPU per 2xx (all nodes), " + many3 + " vs 1 node", "us", c.serverMicrosPerWebhook(),
        s.serverMicrosPerWebhook(), null);
    report.ratio("ingest: PostgreSQL CPU per 2xx, " + many3 + " vs 1 node", "us", micros(c.postgresCores(), c),
        micros(s.postgresCores(), s), null);
    List<String> perNode = new ArrayList<>();
    for (int i = 0; i < cluster.size(); i++) {
      perNode.add(String.format(Locale.ROOT, "node-%d %.0f us (%.2f cores)", i, c.nodeMicrosPerWebhook(i),
          c.nodeCores()[i]));
    }
    report.fact("ingest: CPU per 2xx of the cluster, by node (median " + many3 + " round)", String.join(", ", perNode));
    report.fact("ingest: median rounds (Conduit / PostgreSQL / load generator)", "1 node " + s + "; " + many3 + " " + c);
    report.fact("ingest: rates per round, 1 node / " + many3, singleRounds.stream().map(r ->
        WebhookIngestBench.fmt(r.perSecond())).toList() + " / " + clusterRounds.stream().map(r ->
        WebhookIngestBench.fmt(r.perSecond())).toList());
    report.fact("ingest: Conduit CPU per 2xx per round, us, 1 node / " + many3, singleRounds.stream().map(r ->
        WebhookIngestBench.fmt(r.serverMicrosPerWebhook())).toList() + " / " + clusterRounds.stream().map(r ->
        WebhookIngestBench.fmt(r.serverMicrosPerWebhook())).toList());
    report.fact("ingest: non-2xx / transport errors, all rounds, 1 node / " + many3,
        singleRounds.stream().mapToLong(Round::rejected).sum() + " / " + singleRounds.stream().mapToLong(Round::errors).sum()
            + " ; " + clusterRounds.stream().mapToLong(Round::rejected).sum() + " / "
            + clusterRounds.stream().mapToLong(Round::errors).sum());
    report.fact("ingest: load", senders + " senders (JDK HttpClient, HTTP/1.1, one request at a time each), "
        + WebhookIngestBench.ENDPOINTS + " endpoints of a hub that never connects, " + WebhookIngestBench.BODY_BYTES
        + " B bodies; " + ROUNDS + " alternating rounds of " + ROUND.toSeconds() + " s after a warm-up of "
        + WARMUP.toSeconds() + " s (1 node) and " + WARMUP.toSeconds() * NODES + " s (" + NODES + " nodes, so each node "
        + "warms on about as many requests); median round by rate");
  }

  private static double micros(double cores, Round round) {
    return round.count() == 0 ? 0 : cores * round.seconds() * 1e6 / round.count();
  }

  private static void e2e(BenchReport report, HttpClient http, BenchDestination destination, byte[] body,
                          ChildJvm single, ChildJvm singleHub, List<URI> singleTargets, BenchCluster cluster,
                          ChildJvm clusterHub, List<URI> clusterTargets) throws Exception {
    PacedSender sender = new PacedSender();
    PacedSender.Run warmSingle = sender.run(singleTargets, body, E2E_RATE, E2E_WARMUP, i -> -1L);
    PacedSender.Run warmCluster = sender.run(clusterTargets, body, E2E_RATE, E2E_WARMUP, i -> -1L);
    WebhookE2eBench.awaitDelivered(http, single.port(), warmSingle.accepted());
    awaitArrivalsOrDeadline(http, cluster.node(HUB_NODE).port(), warmCluster.accepted());
    destination.clear();

    List<Duration> singleCpu = List.of(single.cpuTime(), singleHub.cpuTime(), PostgresBenchDatabase.serverCpuTime());
    PacedSender.Run one = sender.run(singleTargets, body, E2E_RATE, E2E_ROUND, i -> (long) i);
    double[] singleCores = cores(List.of(single.cpuTime(), singleHub.cpuTime(), PostgresBenchDatabase.serverCpuTime()),
        singleCpu, one.seconds());
    List<Duration> nodesCpu = cluster.cpuTimes();
    List<Duration> clusterCpu = List.of(clusterHub.cpuTime(), PostgresBenchDatabase.serverCpuTime());
    PacedSender.Run many = sender.run(clusterTargets, body, E2E_RATE, E2E_ROUND, i -> CLUSTER_SEQ_BASE + i);
    double[] nodeCores = cluster.coresSince(nodesCpu, many.seconds());
    double[] clusterCores = cores(List.of(clusterHub.cpuTime(), PostgresBenchDatabase.serverCpuTime()), clusterCpu,
        many.seconds());

    long drainDeadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    while (destination.arrivals().size() < one.accepted() + many.accepted() && System.nanoTime() < drainDeadline) {
      Thread.sleep(50);
    }
    Delivered s = delivered(one, 0, destination, singleTargets, List.of(single));
    Delivered c = delivered(many, CLUSTER_SEQ_BASE, destination, clusterTargets, cluster.nodes());
    List<Double> singleAck = ackMillis(http, single.port(), one, s);
    List<Double> clusterAck = ackMillis(http, cluster.node(HUB_NODE).port(), many, c);

    String label = NODES + " nodes (hub on node " + HUB_NODE + ", ingest on every node) vs 1 node";
    for (int p : new int[] {50, 99}) {
      report.added("e2e ingest -> ACK at the edge, p" + p + ", " + label, "ms",
          WebhookE2eBench.percentile(clusterAck, p), WebhookE2eBench.percentile(singleAck, p), null);
      report.added("e2e send -> arrival at destination, p" + p + ", " + label, "ms",
          WebhookE2eBench.percentile(c.arrival(), p), WebhookE2eBench.percentile(s.arrival(), p), null);
      report.added("e2e send -> ingest 2xx, p" + p + ", " + label, "ms",
          WebhookE2eBench.percentile(c.ingest(), p), WebhookE2eBench.percentile(s.ingest(), p), null);
    }
    report.ratio("e2e Conduit CPU per webhook (all nodes), " + NODES + " nodes vs 1 node", "us",
        java.util.Arrays.stream(nodeCores).sum() * many.seconds() * 1e6 / Math.max(1, many.accepted()),
        singleCores[0] * one.seconds() * 1e6 / Math.max(1, one.accepted()), null);
    List<String> perNode = new ArrayList<>();
    for (int i = 0; i < nodeCores.length; i++) {
      perNode.add(String.format(Locale.ROOT, "node-%d %.0f us (%.2f cores)", i,
          nodeCores[i] * many.seconds() * 1e6 / Math.max(1, many.accepted()), nodeCores[i]));
    }
    report.fact("e2e: CPU per webhook of the cluster, by node", String.join(", ", perNode));
    report.fact("e2e: hub client / PostgreSQL cores, 1 node / " + NODES + " nodes", String.format(Locale.ROOT,
        "%.2f / %.2f ; %.2f / %.2f", singleCores[1], singleCores[2], clusterCores[0], clusterCores[1]));
    report.fact("e2e: sent / 2xx / non-2xx / transport errors, 1 node / " + NODES + " nodes", one.count() + " / "
        + one.accepted() + " / " + one.rejected() + " / " + one.errors() + " ; " + many.count() + " / "
        + many.accepted() + " / " + many.rejected() + " / " + many.errors());
    report.fact("e2e: delivered to the destination by ingest node (2xx that arrived / 2xx), " + DRAIN_TIMEOUT.toSeconds()
        + " s after the last send", "1 node " + s.byNode() + "; " + NODES + " nodes " + c.byNode()
        + (c.complete() ? "" : " — NOT all delivered: this build does not deliver every node's webhooks to a hub "
            + "on node " + HUB_NODE + "; the cluster's latencies cover the delivered ones only"));
    report.fact("e2e: delivered more than once (both runs)", destination.duplicates());
    report.fact("e2e: ACKs seen in the webhooks table, 1 node / " + NODES + " nodes", singleAck.size() + " / "
        + clusterAck.size());
    report.fact("e2e: rate", String.format(Locale.ROOT, "%.0f/s open loop (PacedSender), %d s measured per side after "
        + "%d s warm-up, %d endpoints of hub \"bench\" (production hub client, one JVM per side, connected to node %d), "
        + "%d B bodies; ingest -> ACK from the webhooks table as in webhook-e2e (one machine, one clock)", E2E_RATE,
        E2E_ROUND.toSeconds(), E2E_WARMUP.toSeconds(), WebhookIngestBench.ENDPOINTS, HUB_NODE,
        WebhookIngestBench.BODY_BYTES));
  }

  /** Waits until the webhooks table shows accepted delivered webhooks, or a deadline (undelivered ones are reported). */
  private static void awaitArrivalsOrDeadline(HttpClient http, int port, long accepted) throws Exception {
    long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (WebhookBenchSupport.getJson(http, port, "/api/status").path("webhook").path("webhooks").path("delivered")
          .asLong() >= accepted) {
        return;
      }
      Thread.sleep(200);
    }
  }

  private static double[] cores(List<Duration> after, List<Duration> before, double seconds) {
    double[] cores = new double[after.size()];
    for (int i = 0; i < cores.length; i++) {
      cores[i] = WebhookBenchSupport.cores(after.get(i).minus(before.get(i)), seconds);
    }
    return cores;
  }

  /** Latencies (ms) of a run's accepted webhooks, which of them arrived, and the count by ingest node. */
  private record Delivered(List<Double> ingest, List<Double> arrival, boolean[] arrived, String byNode,
                           boolean complete) {}

  private static Delivered delivered(PacedSender.Run run, long seqBase, BenchDestination destination,
                                     List<URI> targets, List<ChildJvm> nodes) {
    Map<Integer, Integer> nodeOfPort = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      nodeOfPort.put(nodes.get(i).port(), i);
    }
    List<Double> ingest = new ArrayList<>();
    List<Double> arrival = new ArrayList<>();
    boolean[] arrived = new boolean[run.count()];
    long[] accepted = new long[nodes.size()];
    long[] delivered = new long[nodes.size()];
    for (int i = 0; i < run.count(); i++) {
      if (run.status()[i] / 100 != 2) {
        continue;
      }
      int node = nodeOfPort.get(targets.get(i % targets.size()).getPort());
      accepted[node]++;
      ingest.add((run.answeredNanos()[i] - run.dueNanos()[i]) / 1e6);
      Long at = destination.arrivals().get(seqBase + i);
      if (at != null) {
        arrived[i] = true;
        delivered[node]++;
        arrival.add((at - run.dueNanos()[i]) / 1e6);
      }
    }
    List<String> byNode = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      byNode.add("node-" + i + " " + delivered[i] + "/" + accepted[i]);
    }
    return new Delivered(ingest, arrival, arrived, String.join(", ", byNode),
        java.util.Arrays.stream(delivered).sum() == java.util.Arrays.stream(accepted).sum());
  }

  /** ingest -> ACK (ms) of the run's webhooks that reached the destination (the others have no ACK to wait for). */
  private static List<Double> ackMillis(HttpClient http, int port, PacedSender.Run run, Delivered delivered)
      throws Exception {
    String[] bodies = new String[run.count()];
    for (int i = 0; i < run.count(); i++) {
      bodies[i] = delivered.arrived()[i] ? run.bodies()[i] : null;
    }
    PacedSender.Run arrivedOnly = new PacedSender.Run(run.count(), run.seconds(), run.dueNanos(), run.answeredNanos(),
        run.status(), bodies, run.errors());
    return WebhookE2eBench.ackLatencies(http, port, arrivedOnly).values().stream().map(Long::doubleValue).toList();
  }
}
