package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
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
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * 10,000 instances registered over real sockets and pinging at the protocol's 30 s: heap and RSS
 * each instance costs the relay, its CPU while they idle, and how fast they register. Baselines from
 * the same run: the relay with no connections, and the same number of plain WebSockets held by a
 * pekko-http echo server (the cost of the socket alone).
 */
final class TunnelIdleBench implements Benchmark {
  private static final int INSTANCES = Integer.getInteger("bench.instances", 10_000);
  private static final int IN_FLIGHT = Integer.getInteger("bench.connect-concurrency", 64);
  /** Long enough for every instance to ping twice at the protocol's 30 s interval. */
  private static final Duration IDLE_WINDOW = Duration.ofSeconds(Long.getLong("bench.idle-seconds", 60));
  /**
   * After registering, JIT compilation and the collection of registration garbage are not "idle": measured
   * 15 s after the last registration, 3,000 instances cost 34 % of a core; 90 s after, 14 %.
   */
  private static final Duration SETTLE = Duration.ofSeconds(Long.getLong("bench.settle-seconds", 90));
  private static final Duration BASELINE_WINDOW = Duration.ofSeconds(Long.getLong("bench.baseline-idle-seconds", 15));
  private static final int HTTP_CLIENTS = 8;
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(120);
  private static final double MAX_HEAP_KIB_PER_INSTANCE = 30;
  private static final double MAX_IDLE_CPU_PERCENT = 5;
  private static final String PING = "{\"type\":\"ping\"}";

  @Override
  public String name() {
    return "tunnel-idle";
  }

  @Override
  public BenchReport run(Path runDir) throws Exception {
    BenchReport report = new BenchReport(name());
    List<HttpClient> clients = WsPeer.clients(HTTP_CLIENTS);
    try (ChildJvm relay = ChildJvm.conduit(BenchConfig.JAR, TunnelBenchEnv.of(runDir), runDir);
         ChildJvm direct = ChildJvm.main("direct-ws", DirectWebSocketServer.class, runDir)) {
      double emptyCpu = cpuOver(relay, BASELINE_WINDOW);
      Footprint relayEmpty = Footprint.of(relay);
      Footprint directEmpty = Footprint.of(direct);

      URI echo = URI.create("ws://127.0.0.1:" + direct.port() + "/echo");
      List<AutoCloseable> plain = new ArrayList<>();
      double plainRate = openAll(plain, i -> echoedSocket(clients.get(i % HTTP_CLIENTS), echo));
      Footprint directFull = Footprint.of(direct);
      closeAll(plain);

      URI relayBase = URI.create("ws://127.0.0.1:" + relay.port());
      AtomicLong pongs = new AtomicLong();
      List<AutoCloseable> instances = new ArrayList<>();
      double registrationRate = openAll(instances, i -> RelayPeer.instance(clients.get(i % HTTP_CLIENTS), relayBase,
          RelayPeer.newInstanceId()).thenApply(peer -> {
            peer.onFrame(text -> {
              if (text.startsWith("{\"type\":\"pong\"")) {
                pongs.incrementAndGet();
              }
            });
            return peer;
          }));
      Thread.sleep(SETTLE.toMillis());
      Duration generatorCpu = ProcessMetrics.ownCpuTime();
      long pongsBefore = pongs.get();
      double idleCpu = cpuOver(relay, IDLE_WINDOW);
      double generatorCores = ProcessMetrics.ownCpuTime().minus(generatorCpu).toNanos() / (double) IDLE_WINDOW.toNanos();
      long pongsInWindow = pongs.get() - pongsBefore;
      long online = instancesOnline(relayBase);
      Footprint relayFull = Footprint.of(relay);
      closeAll(instances);

      // By class, for finding what a connection holds (not part of the report's figures).
      Files.write(runDir.resolve("heap-per-instance.txt"), relayFull.perConnection(relayEmpty));
      Files.write(runDir.resolve("heap-per-plain-websocket.txt"), directFull.perConnection(directEmpty));
      double heapPerInstance = relayFull.heapKibPerConnection(relayEmpty);
      double heapPerSocket = directFull.heapKibPerConnection(directEmpty);
      report.absolute("heap per instance (live, after full GC)", "KiB", heapPerInstance, heapPerSocket,
          MAX_HEAP_KIB_PER_INSTANCE);
      report.ratio("heap per instance vs plain WebSocket", "x", heapPerInstance, heapPerSocket, null);
      report.absolute("RSS per instance", "KiB", relayFull.rssKibPerConnection(relayEmpty),
          directFull.rssKibPerConnection(directEmpty), null);
      report.absolute("idle CPU with " + INSTANCES + " instances", "% of a core", idleCpu * 100, emptyCpu * 100,
          MAX_IDLE_CPU_PERCENT);
      report.ratio("registrations/s (connect + register + registered)", "per s", registrationRate, plainRate, null);
      report.fact("instances online during the idle window (relay's /api/status)", online + " of " + INSTANCES);
      report.fact("pongs in the idle window (instances ping every 30 s)", pongsInWindow + ", about "
          + INSTANCES * IDLE_WINDOW.toSeconds() / RelayPeer.INSTANCE_PING_INTERVAL.toSeconds() + " expected");
      report.fact("load generator cpu while idle", String.format(Locale.ROOT, "%.2f cores", generatorCores));
      report.fact("baselines", "heap/RSS: the same number of plain WebSockets held by a pekko-http echo server; "
          + "idle CPU: the relay with no connections (" + BASELINE_WINDOW.toSeconds() + " s), measured over "
          + IDLE_WINDOW.toSeconds() + " s starting " + SETTLE.toSeconds() + " s after the last registration; registration rate: "
          + "WebSocket connect + one echoed frame to that server, " + IN_FLIGHT + " in flight for both");
      report.fact("heap: relay empty / full, direct empty / full (MiB)", String.format(Locale.ROOT,
          "%.1f / %.1f, %.1f / %.1f", relayEmpty.heapMib(), relayFull.heapMib(), directEmpty.heapMib(),
          directFull.heapMib()));
      if (online != INSTANCES) {
        throw new IllegalStateException("only " + online + " of " + INSTANCES + " instances stayed online");
      }
    }
    return report;
  }

  /** Live heap and RSS of a server process. */
  private record Footprint(long heapBytes, long rssBytes, Map<String, long[]> histogram) {
    static Footprint of(ChildJvm jvm) throws Exception {
      List<String> histogram = jvm.classHistogram();
      return new Footprint(ProcessMetrics.liveHeapBytes(histogram), jvm.rssBytes(), byClass(histogram));
    }

    /** Class name to {instances, bytes}, from the histogram's "num: instances bytes class" lines. */
    private static Map<String, long[]> byClass(List<String> histogram) {
      Map<String, long[]> classes = new HashMap<>();
      for (String line : histogram) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length >= 4 && fields[0].endsWith(":")) {
          classes.merge(fields[3], new long[] {Long.parseLong(fields[1]), Long.parseLong(fields[2])},
              (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
        }
      }
      return classes;
    }

    /**
     * What one connection holds, by class (objects and bytes per connection, largest first): the full
     * histogram minus the empty one, divided by the connections. Lines "bytes objects class".
     */
    List<String> perConnection(Footprint empty) {
      List<Map.Entry<String, long[]>> grown = new ArrayList<>();
      histogram.forEach((name, full) -> {
        long[] before = empty.histogram.getOrDefault(name, new long[2]);
        grown.add(Map.entry(name, new long[] {full[0] - before[0], full[1] - before[1]}));
      });
      grown.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
      List<String> lines = new ArrayList<>();
      for (Map.Entry<String, long[]> entry : grown) {
        lines.add(String.format(Locale.ROOT, "%8.1f B %6.2f objects  %s", entry.getValue()[1] / (double) INSTANCES,
            entry.getValue()[0] / (double) INSTANCES, entry.getKey()));
      }
      return lines;
    }

    double heapKibPerConnection(Footprint empty) {
      return (heapBytes - empty.heapBytes) / 1024.0 / INSTANCES;
    }

    double rssKibPerConnection(Footprint empty) {
      return (rssBytes - empty.rssBytes) / 1024.0 / INSTANCES;
    }

    double heapMib() {
      return heapBytes / 1024.0 / 1024.0;
    }
  }

  private static double cpuOver(ChildJvm jvm, Duration window) throws InterruptedException {
    Duration before = jvm.cpuTime();
    Thread.sleep(window.toMillis());
    return jvm.cpuTime().minus(before).toNanos() / (double) window.toNanos();
  }

  /** Opens count sockets with at most IN_FLIGHT opening at once; returns sockets opened per second. */
  private static double openAll(List<AutoCloseable> opened, IntFunction<CompletableFuture<? extends AutoCloseable>> open)
      throws Exception {
    Semaphore inFlight = new Semaphore(IN_FLIGHT);
    List<CompletableFuture<? extends AutoCloseable>> futures = new ArrayList<>(INSTANCES);
    long start = System.nanoTime();
    for (int i = 0; i < INSTANCES; i++) {
      inFlight.acquire();
      CompletableFuture<? extends AutoCloseable> future = open.apply(i);
      future.whenComplete((socket, failure) -> inFlight.release());
      futures.add(future);
    }
    for (CompletableFuture<? extends AutoCloseable> future : futures) {
      opened.add(future.get(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
    }
    return INSTANCES / ((System.nanoTime() - start) / 1e9);
  }

  private static CompletableFuture<WsPeer> echoedSocket(HttpClient http, URI echo) {
    CompletableFuture<Void> echoed = new CompletableFuture<>();
    return WsPeer.open(http, echo, text -> echoed.complete(null))
        .thenCompose(peer -> {
          peer.send(PING);
          return echoed.thenApply(done -> peer);
        });
  }

  private static void closeAll(List<AutoCloseable> sockets) throws Exception {
    for (AutoCloseable socket : sockets) {
      socket.close();
    }
    sockets.clear();
  }

  private static long instancesOnline(URI relayBase) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + relayBase.getPort() + "/api/status")).build(),
        HttpResponse.BodyHandlers.ofString());
    JsonNode status = Json.MAPPER.readTree(response.body());
    return status.path("tunnel").path("instances_online").asLong(-1);
  }
}
