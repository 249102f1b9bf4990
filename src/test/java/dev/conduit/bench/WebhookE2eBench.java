package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import dev.conduit.testing.ChildServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Latency of the whole webhook relay at a steady rate: sender → edge (2xx) → gRPC → production hub client
 * (child process) → local destination (in this JVM) → ACK back to the edge. The rate is half the ingest
 * capacity (bench.e2e-rate, else webhook-ingest's figure from the same run, else measured here for
 * bench.e2e-capacity-seconds before the hub connects). Baseline: the same paced sender POSTing directly
 * to the destination.
 */
final class WebhookE2eBench implements Benchmark {
  private static final Duration WARMUP = Duration.ofSeconds(Long.getLong("bench.warmup-seconds", 10));
  private static final Duration ROUND = Duration.ofSeconds(Long.getLong("bench.e2e-seconds", 30));
  private static final Duration CAPACITY = Duration.ofSeconds(Long.getLong("bench.e2e-capacity-seconds", 10));
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);
  /** Rates for the sweep (bench.e2e-sweep, e.g. "100,200,400"), tried in order after the measured round. */
  private static final String SWEEP = System.getProperty("bench.e2e-sweep", "");
  private static final Duration SWEEP_STEP = Duration.ofSeconds(Long.getLong("bench.e2e-sweep-seconds", 15));
  /** A step is sustained when this share of its requests got a 2xx at the paced rate ... */
  private static final double SWEEP_ACCEPTED_SHARE = 0.95;
  /** ... and the backlog at its end is at most this many seconds of traffic (so it did not grow). */
  private static final double SWEEP_BACKLOG_SECONDS = 1.0;

  /** Where the hub client delivers: first arrival of each webhook by X-Bench-Seq; duplicates counted apart. */
  private BenchDestination destination;

  @Override
  public String name() {
    return "webhook-e2e";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    HttpClient http = IngestLoad.client(4);
    destination = BenchDestination.start();
    int grpcPort = ChildServer.freePort();
    Path secret = Files.writeString(runDir.resolve("hub.secret"), WebhookBenchSupport.HUB_SECRET);
    byte[] body = WebhookBenchSupport.body(WebhookIngestBench.BODY_BYTES);
    try (PostgresBenchDatabase db = PostgresBenchDatabase.create();
         ChildJvm edge = WebhookBenchSupport.edge(db, grpcPort, runDir)) {
      String rateSource;
      double capacity;
      if (System.getProperty("bench.e2e-rate") != null) {
        capacity = 2 * Double.parseDouble(System.getProperty("bench.e2e-rate"));
        rateSource = "bench.e2e-rate";
      } else if (WebhookIngestBench.lastIngestRate != null) {
        capacity = WebhookIngestBench.lastIngestRate;
        rateSource = "half the webhook-ingest median of this run";
      } else {
        // Hub "idle" never connects, so these webhooks stay queued and do not load the measured path.
        List<URI> idle = WebhookBenchSupport.createEndpoints(http, edge.port(), WebhookIngestBench.ENDPOINTS, "idle",
            "http://127.0.0.1:9/hook/");
        IngestLoad load = new IngestLoad(idle, body, WebhookIngestBench.SENDERS);
        load.run(WebhookIngestBench.SENDERS, CAPACITY.dividedBy(2));
        capacity = load.run(WebhookIngestBench.SENDERS, CAPACITY).acceptedPerSecond();
        rateSource = "half the ingest capacity measured here first (" + WebhookIngestBench.SENDERS + " senders, "
            + CAPACITY.toSeconds() + " s, no hub)";
      }
      double rate = Math.max(1, capacity / 2);
      String destinationBase = destination.base();
      List<URI> relayed = WebhookBenchSupport.createEndpoints(http, edge.port(), WebhookIngestBench.ENDPOINTS, "bench",
          destinationBase + "/hook/");
      List<URI> direct = List.of(URI.create(destinationBase + "/direct"));
      try (ChildJvm hub = ChildJvm.hubClient(BenchConfig.JAR, "http://127.0.0.1:" + grpcPort, "bench", secret, runDir)) {
        awaitHubConnected(http, edge.port());
        PacedSender sender = new PacedSender();
        // Warm-up of both paths; then one measured round each, direct first.
        sender.run(direct, body, rate, WARMUP, i -> -1L);
        PacedSender.Run warm = sender.run(relayed, body, rate, WARMUP, i -> -1L);
        awaitDelivered(http, edge.port(), warm.accepted());
        PacedSender.Run baseline = sender.run(direct, body, rate, ROUND, i -> -1L);
        destination.clear();
        Duration edgeCpu = edge.cpuTime();
        Duration hubCpu = hub.cpuTime();
        Duration pgCpu = PostgresBenchDatabase.serverCpuTime();
        Duration ownCpu = ProcessMetrics.ownCpuTime();
        PacedSender.Run run = sender.run(relayed, body, rate, ROUND, i -> (long) i);
        double seconds = run.seconds();
        String cpu = String.format(Locale.ROOT, "%.2f / %.2f / %.2f / %.2f cores",
            WebhookBenchSupport.cores(edge.cpuTime().minus(edgeCpu), seconds),
            WebhookBenchSupport.cores(hub.cpuTime().minus(hubCpu), seconds),
            WebhookBenchSupport.cores(PostgresBenchDatabase.serverCpuTime().minus(pgCpu), seconds),
            WebhookBenchSupport.cores(ProcessMetrics.ownCpuTime().minus(ownCpu), seconds));
        long drainDeadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        while (destination.arrivals().size() < run.accepted() && System.nanoTime() < drainDeadline) {
          Thread.sleep(50);
        }
        Map<String, Long> ackMillis = ackLatencies(http, edge.port(), run);
        report(report, run, baseline, ackMillis, rate, rateSource, cpu);
        if (!SWEEP.isBlank()) {
          sweep(report, sender, relayed, body, http, edge.port());
        }
        report.fact("inside the edge, means over the whole run: ingest (request head -> 2xx) / one entity write "
            + "(queue + group commit + back) / one group commit / rows per commit", String.format(Locale.ROOT,
            "%.1f ms / %.1f ms / %.1f ms / %.1f",
            WebhookBenchSupport.histogramMeanMillis(http, edge.port(), "conduit_webhook_ingest_duration_seconds"),
            WebhookBenchSupport.histogramMeanMillis(http, edge.port(), "conduit_webhook_journal_write_seconds"),
            WebhookBenchSupport.histogramMeanMillis(http, edge.port(), "conduit_webhook_commit_seconds"),
            WebhookBenchSupport.histogramMeanMillis(http, edge.port(), "conduit_webhook_commit_rows") / 1000));
      }
    } finally {
      destination.close();
    }
    return report;
  }

  private void report(BenchReport report, PacedSender.Run run, PacedSender.Run baseline, Map<String, Long> ackMillis,
                      double rate, String rateSource, String cpu) {
    List<Double> ingest = new ArrayList<>();
    List<Double> arrival = new ArrayList<>();
    for (int i = 0; i < run.count(); i++) {
      if (run.status()[i] / 100 == 2) {
        ingest.add((run.answeredNanos()[i] - run.dueNanos()[i]) / 1e6);
        Long arrived = destination.arrivals().get((long) i);
        if (arrived != null) {
          arrival.add((arrived - run.dueNanos()[i]) / 1e6);
        }
      }
    }
    List<Double> direct = new ArrayList<>();
    for (int i = 0; i < baseline.count(); i++) {
      if (baseline.status()[i] == 200) {
        direct.add((baseline.answeredNanos()[i] - baseline.dueNanos()[i]) / 1e6);
      }
    }
    List<Double> ack = ackMillis.values().stream().map(Long::doubleValue).toList();
    double directP50 = percentile(direct, 50);
    double directP99 = percentile(direct, 99);
    report.absolute("ingest -> ACK at the edge, p50", "ms", percentile(ack, 50), directP50, 5.0);
    report.absolute("ingest -> ACK at the edge, p99", "ms", percentile(ack, 99), directP99, 50.0);
    report.added("send -> arrival at destination, p50", "ms", percentile(arrival, 50), directP50, null);
    report.added("send -> arrival at destination, p99", "ms", percentile(arrival, 99), directP99, null);
    report.added("send -> ingest 2xx, p50", "ms", percentile(ingest, 50), directP50, null);
    report.added("send -> ingest 2xx, p99", "ms", percentile(ingest, 99), directP99, null);
    report.ratio("rate achieved (2xx per second)", "1/s", run.accepted() / run.seconds(),
        baseline.accepted() / baseline.seconds(), null);
    report.fact("rate", String.format(Locale.ROOT, "%.0f/s open loop over %d endpoints (%s), %d s measured after "
        + "%d s warm-up; %d B bodies", rate, WebhookIngestBench.ENDPOINTS, rateSource, ROUND.toSeconds(),
        WARMUP.toSeconds(), WebhookIngestBench.BODY_BYTES));
    report.fact("baseline", "the same paced sender POSTing the same bodies straight to the destination "
        + "(JDK HttpServer in the benchmark JVM, answers 200): direct HTTP round trip, shown beside each figure");
    report.fact("definitions", "send = when the request was due (open loop, so queueing counts); ingest 2xx and "
        + "arrival at the destination on the benchmark JVM's clock; ingest -> ACK = webhooks.updated_at of the "
        + "delivered row (the edge's clock when the endpoint entity took the hub's ACK, before writing the row) "
        + "minus its received_at (the edge's clock at ingest), both in ms, so +-1 ms");
    report.fact("sent / 2xx / non-2xx / transport errors", run.count() + " / " + run.accepted() + " / "
        + run.rejected() + " / " + run.errors());
    report.fact("undelivered " + DRAIN_TIMEOUT.toSeconds() + " s after the last send (2xx, never at the destination)",
        run.accepted() - arrival.size());
    report.fact("delivered more than once (hub de-duplication missed)", destination.duplicates());
    report.fact("ACK seen in the webhooks table (delivered)", ack.size());
    report.fact("cpu during the measured round (edge / hub client / postgres / load generator + destination)", cpu);
  }

  /**
   * The highest rate of bench.e2e-sweep that the relay sustains end to end: for each rate in turn, a paced
   * round of bench.e2e-sweep-seconds; sustained when at least 95 % got a 2xx at that pace and the queue
   * (received + dispatched + retrying, from /api/status) at the round's end is at most one second of
   * traffic, i.e. delivery kept up with ingest. Stops at the first rate not sustained; drains between rounds.
   */
  private static void sweep(BenchReport report, PacedSender sender, List<URI> relayed, byte[] body, HttpClient http,
                            int port) throws Exception {
    double best = 0;
    List<String> steps = new ArrayList<>();
    for (String value : SWEEP.split(",")) {
      double rate = Double.parseDouble(value.trim());
      PacedSender.Run step = sender.run(relayed, body, rate, SWEEP_STEP, i -> -1L);
      long backlog = queued(http, port);
      double accepted = step.accepted() / step.seconds();
      boolean sustained = step.accepted() >= SWEEP_ACCEPTED_SHARE * step.count()
          && backlog <= rate * SWEEP_BACKLOG_SECONDS;
      steps.add(String.format(Locale.ROOT, "%.0f/s: %.0f 2xx/s, %d queued at the end%s", rate, accepted, backlog,
          sustained ? "" : " (not sustained)"));
      if (!sustained) {
        break;
      }
      best = rate;
      long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
      while (queued(http, port) > 0 && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
    }
    report.fact("sweep: highest rate sustained without a growing backlog (" + SWEEP_STEP.toSeconds()
        + " s per rate)", String.format(Locale.ROOT, "%.0f/s; %s", best, String.join("; ", steps)));
  }

  private static long queued(HttpClient http, int port) throws Exception {
    JsonNode counts = WebhookBenchSupport.getJson(http, port, "/api/status").path("webhook").path("webhooks");
    return counts.path("received").asLong() + counts.path("dispatched").asLong() + counts.path("retrying").asLong();
  }

  static void awaitHubConnected(HttpClient http, int port) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode hubs = WebhookBenchSupport.getJson(http, port, "/api/hubs");
      for (JsonNode hub : hubs.has("hubs") ? hubs.get("hubs") : hubs) {
        if (hub.path("hub_id").asText().equals("bench") && hub.path("connected").asBoolean()) {
          return;
        }
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the hub client did not connect within 60 s");
  }

  /** Waits until the webhooks table shows as many delivered webhooks as were accepted so far (warm-up). */
  static void awaitDelivered(HttpClient http, int port, long accepted) throws Exception {
    long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode status = WebhookBenchSupport.getJson(http, port, "/api/status");
      if (status.path("webhook").path("webhooks").path("delivered").asLong() >= accepted) {
        return;
      }
      Thread.sleep(200);
    }
  }

  /**
   * webhook id → received_at to delivered updated_at in ms, for the run's webhooks, read page by page from
   * GET /api/webhooks?status=delivered once the read table has caught up.
   */
  static Map<String, Long> ackLatencies(HttpClient http, int port, PacedSender.Run run) throws Exception {
    Map<String, Boolean> wanted = new HashMap<>();
    for (String body : run.bodies()) {
      if (body != null && body.contains("\"id\"")) {
        wanted.put(Json.MAPPER.readTree(body).get("id").asText(), true);
      }
    }
    Map<String, Long> latencies = new HashMap<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (latencies.size() < wanted.size() && System.nanoTime() < deadline) {
      latencies.clear();
      String before = "";
      while (true) {
        JsonNode page = WebhookBenchSupport.getJson(http, port,
            "/api/webhooks?status=delivered&limit=1000" + before);
        for (JsonNode w : page.get("webhooks")) {
          if (wanted.containsKey(w.get("id").asText())) {
            latencies.put(w.get("id").asText(), Instant.parse(w.get("updated_at").asText()).toEpochMilli()
                - Instant.parse(w.get("received_at").asText()).toEpochMilli());
          }
        }
        if (!page.has("next_before")) {
          break;
        }
        before = "&before=" + page.get("next_before").asLong();
      }
      if (latencies.size() < wanted.size()) {
        Thread.sleep(500);
      }
    }
    return latencies;
  }

  static double percentile(List<Double> values, double p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100 * sorted.length) - 1)];
  }
}
