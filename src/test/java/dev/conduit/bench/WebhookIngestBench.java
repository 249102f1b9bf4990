package dev.conduit.bench;

import dev.conduit.testing.ChildServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Webhooks accepted per second (2xx, i.e. durably in the PostgreSQL webhooks table) with 64 concurrent senders
 * of 1 KiB bodies spread over 100 endpoints, against the rate of single-row autocommit INSERTs of a
 * 1 KiB body by 64 JDBC connections into the same database. Rounds alternate; medians reported. Each
 * round also gives the edge's CPU per accepted webhook, the figure that holds on a shared machine. With
 * {@code bench.ingest-layer} (default on) the same senders also drive pekko-http alone
 * ({@link DirectIngestServer}); with {@code bench.compare-jar} another build's edge takes alternate rounds.
 */
final class WebhookIngestBench implements Benchmark {
  static final int ENDPOINTS = Integer.getInteger("bench.endpoints", 100);
  static final int SENDERS = Integer.getInteger("bench.senders", 64);
  static final int BODY_BYTES = Integer.getInteger("bench.body-bytes", 1024);
  /** ANALYZE after the warm-up, as autovacuum would have done on a database that has been running a while. */
  private static final boolean ANALYZE_AFTER_WARMUP = Boolean.getBoolean("bench.analyze-after-warmup");
  private static final Duration WARMUP = Duration.ofSeconds(Long.getLong("bench.warmup-seconds", 5));
  private static final Duration ROUND = Duration.ofSeconds(Long.getLong("bench.round-seconds", 10));
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  /**
   * Also measure the layer: the same senders against pekko-http alone ({@link DirectIngestServer}), what
   * the edge's HTTP stack costs per webhook before any of Conduit's work.
   */
  /**
   * Another build of Conduit (a jar) measured in the same run, rounds alternating with this one's, each
   * edge with a database of its own: before/after figures under the same machine load.
   */
  private static final String COMPARE_JAR = System.getProperty("bench.compare-jar");
  private static final boolean LAYER = Boolean.parseBoolean(System.getProperty("bench.ingest-layer", "true"));

  /** The median ingest rate of the last run (webhook-e2e paces itself from it when run after this one). */
  static volatile Double lastIngestRate;

  @Override
  public String name() {
    return "webhook-ingest";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    HttpClient http = IngestLoad.client(4);
    try (PostgresBenchDatabase db = PostgresBenchDatabase.create();
         ChildJvm edge = WebhookBenchSupport.edge(db, ChildServer.freePort(), runDir);
         ChildJvm direct = LAYER ? ChildJvm.main("direct-ingest", DirectIngestServer.class, runDir) : null;
         PostgresBenchDatabase otherDb = COMPARE_JAR == null ? null : PostgresBenchDatabase.create();
         ChildJvm other = COMPARE_JAR == null ? null : WebhookBenchSupport.edge(otherDb, ChildServer.freePort(),
             runDir.resolve("compare"), Path.of(COMPARE_JAR))) {
      // No hub connects: every accepted webhook stays queued in its endpoint (hub "idle" never comes).
      List<URI> targets = WebhookBenchSupport.createEndpoints(http, edge.port(), ENDPOINTS, "idle",
          "http://127.0.0.1:9/hook/");
      byte[] body = WebhookBenchSupport.body(BODY_BYTES);
      IngestLoad load = new IngestLoad(targets, body, SENDERS);
      InsertLoad inserts = new InsertLoad(db, body);
      Side conduit = new Side("conduit", () -> load.run(SENDERS, ROUND), List.of(edge));
      Side baseline = new Side("insert", () -> inserts.run(ROUND), List.of());

      Side compare = null;
      if (other != null) {
        IngestLoad otherLoad = new IngestLoad(WebhookBenchSupport.createEndpoints(http, other.port(), ENDPOINTS, "idle",
            "http://127.0.0.1:9/hook/"), body, SENDERS);
        compare = new Side("compare", () -> otherLoad.run(SENDERS, ROUND), List.of(other));
        otherLoad.run(SENDERS, WARMUP);
      }
      Side layer = null;
      if (direct != null) {
        List<URI> directTargets = new ArrayList<>();
        for (int i = 0; i < ENDPOINTS; i++) {
          directTargets.add(URI.create("http://127.0.0.1:" + direct.port() + "/h/direct-" + i));
        }
        IngestLoad directLoad = new IngestLoad(directTargets, body, SENDERS);
        layer = new Side("layer", () -> directLoad.run(SENDERS, ROUND), List.of(direct));
        directLoad.run(SENDERS, WARMUP);
      }
      inserts.run(WARMUP);
      long warmedUp = load.run(SENDERS, WARMUP).accepted();
      if (ANALYZE_AFTER_WARMUP) {
        // A long-lived database has planner statistics (autovacuum); a database a minute old may not yet.
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
          s.execute("ANALYZE");
        }
      }
      List<Round> conduitRounds = new ArrayList<>();
      List<Round> baselineRounds = new ArrayList<>();
      List<Round> layerRounds = new ArrayList<>();
      List<Round> compareRounds = new ArrayList<>();
      for (int i = 0; i < ROUNDS; i++) {
        baselineRounds.add(baseline.round());
        // The two builds take turns going first, so neither always follows the INSERT round.
        if (compare != null && i % 2 == 1) {
          compareRounds.add(compare.round());
        }
        conduitRounds.add(conduit.round());
        if (compare != null && i % 2 == 0) {
          compareRounds.add(compare.round());
        }
        if (layer != null) {
          layerRounds.add(layer.round());
        }
        System.out.printf("  round %d: insert %s, conduit %s%s%s%n", i + 1, baselineRounds.get(i),
            conduitRounds.get(i), compare == null ? "" : ", compare " + compareRounds.get(i),
            layer == null ? "" : ", layer " + layerRounds.get(i));
      }
      inserts.close();
      Round c = median(conduitRounds);
      Round b = median(baselineRounds);
      lastIngestRate = c.perSecond();
      report.ratio("webhooks accepted (2xx) vs. single-row INSERTs", "1/s", c.perSecond(), b.perSecond(), 1.0);
      report.fact("planner statistics", ANALYZE_AFTER_WARMUP ? "ANALYZE after the warm-up"
          : "as autovacuum left them (the database is minutes old)");
      report.fact("rounds", ROUNDS + " alternating rounds of " + ROUND.toSeconds() + " s after " + WARMUP.toSeconds()
          + " s warm-up per side; median round by rate");
      report.fact("load", SENDERS + " senders (JDK HttpClient, HTTP/1.1, one request at a time each), " + ENDPOINTS
          + " endpoints in turn, " + BODY_BYTES + " B JSON bodies, provider generic without secret");
      report.fact("baseline", SENDERS + " JDBC connections, autocommit INSERT of one row (uuid text key, "
          + "endpoint, seq, time, " + BODY_BYTES + " B bytea) into a table of the same database");
      report.fact("rates per round, conduit", conduitRounds.stream().map(r -> fmt(r.perSecond())).toList());
      report.fact("rates per round, insert", baselineRounds.stream().map(r -> fmt(r.perSecond())).toList());
      report.fact("cpu conduit round (conduit / postgres / load generator)", c.cpu());
      report.fact("edge cpu per 2xx per round, us", conduitRounds.stream().map(r -> fmt(r.serverMicrosPerWebhook())).toList());
      report.fact("cpu insert round (postgres / load generator)", b.cpu());
      if (!compareRounds.isEmpty()) {
        Round o = median(compareRounds);
        report.fact("compared: " + COMPARE_JAR + " (median round)", o.toString());
        report.fact("compare edge cpu per 2xx per round, us",
            compareRounds.stream().map(r -> fmt(r.serverMicrosPerWebhook())).toList());
        report.fact("compare rates per round", compareRounds.stream().map(r -> fmt(r.perSecond())).toList());
      }
      if (!layerRounds.isEmpty()) {
        Round l = median(layerRounds);
        report.fact("layer: pekko-http alone (POST read whole, 200 JSON, nothing stored), same senders",
            fmt(l.perSecond()) + "/s, " + String.format(Locale.ROOT, "%.2f", l.serverCores()) + " cores, "
                + fmt(l.serverMicrosPerWebhook()) + " us per 2xx (median round)");
        report.fact("layer cpu per 2xx per round, us", layerRounds.stream().map(r -> fmt(r.serverMicrosPerWebhook())).toList());
      }
      report.fact("non-2xx answers / transport errors, all conduit rounds",
          conduitRounds.stream().mapToLong(Round::rejected).sum() + " / "
              + conduitRounds.stream().mapToLong(Round::errors).sum());
      long accepted = conduitRounds.stream().mapToLong(Round::count).sum() + warmedUp;
      report.fact("backlog", "no hub connected: every accepted webhook stays queued, " + accepted + " in all by the end "
          + "(~" + accepted / ENDPOINTS + " per endpoint); a rate falling from round to round would show the "
          + "growing queues costing something");
      report.fact("rows in the webhooks table at the end (>= webhooks accepted)", webhookRows(db));
    }
    return report;
  }

  private static long webhookRows(PostgresBenchDatabase db) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*) FROM webhooks")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static Round median(List<Round> rounds) {
    List<Round> sorted = new ArrayList<>(rounds);
    sorted.sort((a, b) -> Double.compare(a.perSecond(), b.perSecond()));
    return sorted.get(sorted.size() / 2);
  }

  static String fmt(double value) {
    return String.format(Locale.ROOT, "%.0f", value);
  }

  @FunctionalInterface
  interface Load {
    IngestLoad.Result run() throws Exception;
  }

  /**
   * One side of the comparison: its load and the server processes it is charged with (one edge, the nodes of
   * a cluster, or none for the baseline: PostgreSQL alone).
   */
  record Side(String name, Load load, List<ChildJvm> servers) {
    Round round() throws Exception {
      List<Duration> serverCpu = servers.stream().map(ChildJvm::cpuTime).toList();
      Duration pgCpu = PostgresBenchDatabase.serverCpuTime();
      Duration ownCpu = ProcessMetrics.ownCpuTime();
      IngestLoad.Result result = load.run();
      double s = result.seconds();
      double[] cores = new double[servers.size()];
      for (int i = 0; i < cores.length; i++) {
        cores[i] = WebhookBenchSupport.cores(servers.get(i).cpuTime().minus(serverCpu.get(i)), s);
      }
      return new Round(result.accepted(), result.rejected(), result.errors(), s, cores,
          WebhookBenchSupport.cores(PostgresBenchDatabase.serverCpuTime().minus(pgCpu), s),
          WebhookBenchSupport.cores(ProcessMetrics.ownCpuTime().minus(ownCpu), s));
    }
  }

  /** One round: 2xx, non-2xx, transport errors, seconds, cores of each server (Side.servers), PostgreSQL, this JVM. */
  record Round(long count, long rejected, long errors, double seconds, double[] nodeCores, double postgresCores,
               double generatorCores) {
    double perSecond() {
      return count / seconds;
    }

    boolean hasServer() {
      return nodeCores.length > 0;
    }

    /** Cores of all the side's servers together. */
    double serverCores() {
      return java.util.Arrays.stream(nodeCores).sum();
    }

    /** CPU of server i per accepted webhook (all of the side's webhooks), microseconds. */
    double nodeMicrosPerWebhook(int i) {
      return count == 0 ? 0 : nodeCores[i] * seconds * 1e6 / count;
    }

    /** Edge CPU per accepted webhook, microseconds: the figure that holds on a shared machine. */
    double serverMicrosPerWebhook() {
      return count == 0 ? 0 : serverCores() * seconds * 1e6 / count;
    }

    String cpu() {
      return hasServer()
          ? String.format(Locale.ROOT, "%.2f / %.2f / %.2f cores, edge %.0f us per 2xx", serverCores(), postgresCores,
              generatorCores, serverMicrosPerWebhook())
          : String.format(Locale.ROOT, "%.2f / %.2f cores", postgresCores, generatorCores);
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%.0f/s (%s%s)", perSecond(), cpu(),
          rejected + errors > 0 ? ", " + rejected + " non-2xx, " + errors + " errors" : "");
    }
  }

  /** The baseline: SENDERS JDBC connections, each inserting one row per autocommitted statement. */
  static final class InsertLoad implements AutoCloseable {
    private final List<Connection> connections = new ArrayList<>();
    private final byte[] body;

    InsertLoad(PostgresBenchDatabase db, byte[] body) throws Exception {
      this.body = body;
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE bench_insert (id VARCHAR(64) PRIMARY KEY, endpoint_id VARCHAR(64) NOT NULL, "
            + "seq BIGINT NOT NULL, received_at BIGINT NOT NULL, body BYTEA NOT NULL)");
      }
      for (int i = 0; i < SENDERS; i++) {
        connections.add(db.connect());
      }
    }

    IngestLoad.Result run(Duration duration) throws Exception {
      AtomicLong inserted = new AtomicLong();
      ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
      long start = System.nanoTime();
      long end = start + duration.toNanos();
      try {
        List<Future<?>> running = new ArrayList<>();
        for (Connection c : connections) {
          running.add(pool.submit(() -> {
            try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO bench_insert (id, endpoint_id, seq, received_at, body) VALUES (?, ?, ?, ?, ?)")) {
              long seq = 0;
              while (System.nanoTime() < end) {
                insert.setString(1, UUID.randomUUID().toString());
                insert.setString(2, "endpoint-" + (seq % ENDPOINTS));
                insert.setLong(3, seq++);
                insert.setLong(4, System.currentTimeMillis());
                insert.setBytes(5, body);
                insert.executeUpdate();
                inserted.incrementAndGet();
              }
            }
            return null;
          }));
        }
        for (Future<?> f : running) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      return new IngestLoad.Result(inserted.get(), 0, 0, (System.nanoTime() - start) / 1e9);
    }

    @Override
    public void close() throws Exception {
      for (Connection c : connections) {
        c.close();
      }
    }
  }
}
