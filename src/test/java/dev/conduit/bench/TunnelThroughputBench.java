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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes per second through one relayed session (client → relay → instance) against the same client
 * writing to a plain pekko-http WebSocket sink on loopback. Rounds alternate direct and relayed so
 * both see the same machine; the median round of each is reported.
 */
final class TunnelThroughputBench implements Benchmark {
  private static final int[] PAYLOAD_SIZES = java.util.Arrays.stream(
      System.getProperty("bench.payload-sizes", "65536,1024").split(",")).mapToInt(Integer::parseInt).toArray();
  private static final Duration WARMUP = Duration.ofSeconds(Long.getLong("bench.warmup-seconds", 4));
  private static final Duration ROUND = Duration.ofSeconds(Long.getLong("bench.round-seconds", 5));
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);

  @Override
  public String name() {
    return "tunnel-throughput";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    HttpClient http = HttpClient.newHttpClient();
    try (ChildJvm relay = ChildJvm.conduit(BenchConfig.JAR, TunnelBenchEnv.of(runDir), runDir);
         ChildJvm direct = ChildJvm.main("direct-ws", DirectWebSocketServer.class, runDir)) {
      URI relayBase = URI.create("ws://127.0.0.1:" + relay.port());
      String instanceId = RelayPeer.newInstanceId();
      RelayPeer instance = RelayPeer.instance(http, relayBase, instanceId).get(30, TimeUnit.SECONDS);
      RelayPeer client = RelayPeer.client(http, relayBase, instanceId).get(30, TimeUnit.SECONDS);
      AtomicLong relayedFrames = new AtomicLong();
      instance.onFrame(text -> {
        if (text.startsWith("{\"type\":\"relay_message\"")) {
          relayedFrames.incrementAndGet();
        }
      });
      Sink relayed = new Sink("relayed", client::send, relayedFrames::get, relay);
      DirectSink directSink = DirectSink.open(http, URI.create("ws://127.0.0.1:" + direct.port() + "/sink"));
      Sink baseline = new Sink("direct", directSink::send, directSink::received, direct);
      for (int size : PAYLOAD_SIZES) {
        measure(size, relayed, baseline, report);
      }
      client.close();
      instance.close();
      directSink.close();
    }
    report.fact("rounds", ROUNDS + " alternating rounds of " + ROUND.toSeconds() + " s each after "
        + WARMUP.toSeconds() + " s warm-up per side; median round reported");
    report.fact("baseline", "the same JDK WebSocket client sending the same frames to a pekko-http WebSocket sink "
        + "(same server stack, no relay) on loopback");
    return report;
  }

  private static void measure(int payloadBytes, Sink relayed, Sink direct, BenchReport report) throws Exception {
    byte[] payload = new byte[payloadBytes];
    new Random(payloadBytes).nextBytes(payload);
    String frame = "{\"type\":\"message\",\"payload\":\"" + Base64.getEncoder().encodeToString(payload) + "\"}";
    relayed.round(frame, WARMUP);
    direct.round(frame, WARMUP);
    List<Round> relayedRounds = new ArrayList<>();
    List<Round> directRounds = new ArrayList<>();
    for (int i = 0; i < ROUNDS; i++) {
      directRounds.add(direct.round(frame, ROUND));
      relayedRounds.add(relayed.round(frame, ROUND));
    }
    System.out.printf("  %d B payload: direct %s, relayed %s%n", payloadBytes, directRounds, relayedRounds);
    Round r = median(relayedRounds);
    Round d = median(directRounds);
    String label = payloadBytes / 1024 + " KiB payload";
    report.ratio("throughput, " + label, "MiB/s", r.mibPerSecond(payloadBytes), d.mibPerSecond(payloadBytes), 0.8);
    report.ratio("messages/s, " + label, "msg/s", r.perSecond(), d.perSecond(), null);
    report.fact("cpu " + label + ", relayed (server / load generator)", r.cpu());
    report.fact("cpu " + label + ", direct (server / load generator)", d.cpu());
  }

  private static Round median(List<Round> rounds) {
    List<Round> sorted = new ArrayList<>(rounds);
    sorted.sort((a, b) -> Double.compare(a.perSecond(), b.perSecond()));
    return sorted.get(sorted.size() / 2);
  }

  /** One timed round: frames delivered, wall time, CPU of the server and of this JVM in cores. */
  record Round(long frames, double seconds, double serverCores, double generatorCores) {
    double perSecond() {
      return frames / seconds;
    }

    double mibPerSecond(int payloadBytes) {
      return perSecond() * payloadBytes / (1024.0 * 1024.0);
    }

    String cpu() {
      return String.format(java.util.Locale.ROOT, "%.2f / %.2f cores", serverCores, generatorCores);
    }
  }

  @FunctionalInterface
  interface Sender {
    CompletableFuture<?> send(String text);
  }

  /** A path frames are pushed through, and how many arrived at its far end. */
  record Sink(String name, Sender sender, java.util.function.LongSupplier delivered, ChildJvm server) {
    /** Sends back to back for the duration, then waits until every frame arrived at the far end. */
    Round round(String frame, Duration duration) throws Exception {
      long startDelivered = delivered.getAsLong();
      Duration serverCpu = server.cpuTime();
      Duration ownCpu = ProcessMetrics.ownCpuTime();
      long start = System.nanoTime();
      long end = start + duration.toNanos();
      long sent = 0;
      while (System.nanoTime() < end) {
        sender.send(frame).get();
        sent++;
      }
      long target = startDelivered + sent;
      long drainDeadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
      while (delivered.getAsLong() < target) {
        if (System.nanoTime() > drainDeadline) {
          throw new IllegalStateException(name + ": only " + (delivered.getAsLong() - startDelivered) + " of "
              + sent + " frames arrived");
        }
        Thread.onSpinWait();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      return new Round(sent, seconds, cores(server.cpuTime().minus(serverCpu), seconds),
          cores(ProcessMetrics.ownCpuTime().minus(ownCpu), seconds));
    }

    private static double cores(Duration cpu, double seconds) {
      return cpu.toNanos() / 1e9 / seconds;
    }
  }
}
