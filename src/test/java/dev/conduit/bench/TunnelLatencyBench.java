package dev.conduit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Round trips of small messages client → relay → instance → relay → client at 1, 100 and 1000
 * concurrent sessions, against the same clients' round trips to a plain pekko-http WebSocket echo on
 * loopback. The offered load is the same at every session count (an aggregate message rate, spread
 * over the sessions), so the session count is what varies.
 */
final class TunnelLatencyBench implements Benchmark {
  private static final int[] SESSIONS = java.util.Arrays.stream(
      System.getProperty("bench.sessions", "1,100,1000").split(",")).mapToInt(Integer::parseInt).toArray();
  private static final int AGGREGATE_RATE = Integer.getInteger("bench.rate", 1000);
  private static final Duration WARMUP = Duration.ofSeconds(Long.getLong("bench.warmup-seconds", 5));
  private static final Duration MEASURE = Duration.ofSeconds(Long.getLong("bench.measure-seconds", 15));
  private static final int SESSIONS_PER_INSTANCE = 100;
  private static final int HTTP_CLIENTS = 4;
  private static final int PAYLOAD_BYTES = 16;
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(60);
  /** Targets on the added p99 (relayed minus direct), by session count. */
  private static final java.util.Map<Integer, Double> MAX_ADDED_P99_MS = java.util.Map.of(1, 0.5, 1000, 2.0);

  @Override
  public String name() {
    return "tunnel-latency";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    List<HttpClient> clients = WsPeer.clients(HTTP_CLIENTS);
    ScheduledExecutorService ticker = Executors.newScheduledThreadPool(2);
    try (ChildJvm relay = ChildJvm.conduit(BenchConfig.JAR, TunnelBenchEnv.of(runDir), runDir);
         ChildJvm direct = ChildJvm.main("direct-ws", DirectWebSocketServer.class, runDir)) {
      URI relayBase = URI.create("ws://127.0.0.1:" + relay.port());
      URI echo = URI.create("ws://127.0.0.1:" + direct.port() + "/echo");
      for (int sessions : SESSIONS) {
        Percentiles d = measure(sessions, ticker, probes -> directSessions(clients, echo, probes), report, "direct");
        Percentiles r = measure(sessions, ticker, probes -> relayedSessions(clients, relayBase, probes), report,
            "relayed");
        System.out.printf("  %d sessions: direct %s | relayed %s%n", sessions, d, r);
        String label = sessions + " session" + (sessions == 1 ? "" : "s");
        report.added("RTT p50, " + label, "ms", r.p50(), d.p50(), null);
        report.added("RTT p99, " + label, "ms", r.p99(), d.p99(), MAX_ADDED_P99_MS.get(sessions));
        report.added("RTT p999, " + label, "ms", r.p999(), d.p999(), null);
        report.fact("samples " + label + " (direct / relayed)", d.count() + " / " + r.count());
      }
    } finally {
      ticker.shutdownNow();
    }
    report.fact("load", AGGREGATE_RATE + " messages/s in all, spread over the sessions (each sends every "
        + "sessions/" + AGGREGATE_RATE + " s, never with one still out); " + PAYLOAD_BYTES + "-byte payloads; "
        + WARMUP.toSeconds() + " s warm-up, " + MEASURE.toSeconds() + " s measured per side");
    report.fact("relayed path", "client -> relay -> instance (echoes the frame) -> relay -> client; "
        + SESSIONS_PER_INSTANCE + " sessions per instance");
    report.fact("baseline", "the same JDK WebSocket clients to a pekko-http WebSocket echo server on loopback");
    return report;
  }

  @FunctionalInterface
  interface SessionFactory {
    List<AutoCloseable> open(List<LatencyProbe> probes) throws Exception;
  }

  private Percentiles measure(int sessions, ScheduledExecutorService ticker, SessionFactory factory,
                              BenchReport report, String side) throws Exception {
    ConcurrentLinkedQueue<Long> samples = new ConcurrentLinkedQueue<>();
    List<LatencyProbe> probes = new ArrayList<>();
    String frame = frame();
    List<AutoCloseable> sockets = new ArrayList<>();
    List<ScheduledFuture<?>> ticks = new ArrayList<>();
    try {
      for (int i = 0; i < sessions; i++) {
        probes.add(new LatencyProbe(frame, samples));
      }
      sockets.addAll(factory.open(probes));
      long periodMicros = sessions * 1_000_000L / AGGREGATE_RATE;
      Random phase = new Random(sessions);
      for (LatencyProbe probe : probes) {
        ticks.add(ticker.scheduleAtFixedRate(probe::tick, phase.nextInt((int) periodMicros + 1), periodMicros,
            TimeUnit.MICROSECONDS));
      }
      Thread.sleep(WARMUP.toMillis());
      Duration ownCpu = ProcessMetrics.ownCpuTime();
      probes.forEach(probe -> probe.recording(true));
      Thread.sleep(MEASURE.toMillis());
      probes.forEach(probe -> probe.recording(false));
      double cores = ProcessMetrics.ownCpuTime().minus(ownCpu).toNanos() / (double) MEASURE.toNanos();
      long skipped = probes.stream().mapToLong(LatencyProbe::skipped).sum();
      report.fact("load generator cpu, " + sessions + " sessions " + side, String.format(java.util.Locale.ROOT,
          "%.2f cores (ticks skipped while a message was out: %d)", cores, skipped));
      return Percentiles.of(samples);
    } finally {
      ticks.forEach(tick -> tick.cancel(false));
      for (AutoCloseable socket : sockets) {
        socket.close();
      }
    }
  }

  private static String frame() {
    byte[] payload = new byte[PAYLOAD_BYTES];
    new Random(PAYLOAD_BYTES).nextBytes(payload);
    return "{\"type\":\"message\",\"payload\":\"" + Base64.getEncoder().encodeToString(payload) + "\"}";
  }

  private static List<AutoCloseable> directSessions(List<HttpClient> clients, URI echo, List<LatencyProbe> probes)
      throws Exception {
    List<CompletableFuture<WsPeer>> opening = new ArrayList<>();
    for (int i = 0; i < probes.size(); i++) {
      LatencyProbe probe = probes.get(i);
      opening.add(WsPeer.open(clients.get(i % clients.size()), echo, text -> probe.onEcho()));
    }
    List<AutoCloseable> sockets = new ArrayList<>();
    for (int i = 0; i < probes.size(); i++) {
      WsPeer peer = opening.get(i).get(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      sockets.add(peer);
      probes.get(i).bind(peer::send);
    }
    return sockets;
  }

  private static List<AutoCloseable> relayedSessions(List<HttpClient> clients, URI relay, List<LatencyProbe> probes)
      throws Exception {
    List<AutoCloseable> sockets = new ArrayList<>();
    int instanceCount = (probes.size() + SESSIONS_PER_INSTANCE - 1) / SESSIONS_PER_INSTANCE;
    List<String> instanceIds = new ArrayList<>();
    for (int i = 0; i < instanceCount; i++) {
      String id = RelayPeer.newInstanceId();
      RelayPeer instance = RelayPeer.instance(clients.get(i % clients.size()), relay, id)
          .get(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      // The instance's application: send every relay_message back as it came (same session, same payload).
      instance.onFrame(text -> {
        if (text.startsWith("{\"type\":\"relay_message\"")) {
          instance.send(text);
        }
      });
      sockets.add(instance);
      instanceIds.add(id);
    }
    List<CompletableFuture<RelayPeer>> opening = new ArrayList<>();
    for (int i = 0; i < probes.size(); i++) {
      opening.add(RelayPeer.client(clients.get(i % clients.size()), relay, instanceIds.get(i % instanceCount)));
    }
    for (int i = 0; i < probes.size(); i++) {
      RelayPeer client = opening.get(i).get(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      LatencyProbe probe = probes.get(i);
      probe.bind(client::send);
      client.onFrame(text -> {
        if (text.startsWith("{\"type\":\"message\"")) {
          probe.onEcho();
        }
      });
      sockets.add(client);
    }
    return sockets;
  }
}
