package dev.conduit.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.ClusterProcesses;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster's proof, on three relays in their own JVMs over one PostgreSQL database: Noise sessions
 * across nodes carry data intact; kill -9 of one node under tunnel and webhook load loses no acknowledged
 * webhook, keeps per-endpoint order, keeps key pins and claim codes, and its instances are reachable
 * again once they reconnect to the others; a graceful leave (SIGTERM) tells its sockets shutting_down
 * and loses nothing. Every wait is for a condition, with a hang guard far above its usual time.
 */
class ClusterProofTest {
  private static final String HUB = "home";
  private static final String SECRET = "proof-secret";
  private static final String TOKEN = "proof-token";
  private static final int ENDPOINTS = 3;
  private static final Duration STEP = Duration.ofSeconds(30);
  /** Hang guard for what waits on failure detection and the split brain resolver (stable-after 3 s). */
  private static final Duration RECOVERY = Duration.ofSeconds(120);

  private TestDatabase db;
  private TestDestination destination;
  private ClusterProcesses cluster;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.POSTGRES);
    destination = TestDestination.start();
    cluster = ClusterProcesses.start(db, 3, Map.of("CONDUIT_HUBS", HUB + ":" + SECRET, "CONDUIT_ADMIN_TOKEN", TOKEN,
        // Three pools on one PostgreSQL: leave room for the other tests' databases.
        "CONDUIT_DB_MAX_CONNECTIONS", "6"));
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      try {
        closeables.get(i).close();
      } catch (Exception ignored) {
        // best effort: the node it talked to may be gone
      }
    }
    cluster.close();
    destination.close();
    db.close();
  }

  private <T extends AutoCloseable> T closing(T closeable) {
    closeables.add(closeable);
    return closeable;
  }

  private EdgeApi edge(int node) {
    return new EdgeApi(cluster.node(node).httpBase(), TOKEN);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Registers instanceId on node, retrying while the cluster recovers (registration_failed, refused socket). */
  private SimulatedInstance register(int node, String instanceId, KeyPair key) throws Exception {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    while (true) {
      try {
        return closing(SimulatedInstance.start(cluster.node(node).wsBase(), instanceId, key, Duration.ofSeconds(5), STEP));
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("instance " + instanceId + " could not register on node " + node, e);
        }
        Thread.sleep(200);
      }
    }
  }

  /** A client on node reaches instanceId and a Noise round trip comes back intact. */
  private void assertReachable(int node, String instanceId) throws Exception {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    while (true) {
      try (SimulatedClient client = SimulatedClient.connectToInstance(cluster.node(node).wsBase(), instanceId, STEP)) {
        byte[] data = bytes("across the cluster to " + instanceId + " from node " + node);
        assertArrayEquals(data, client.echo(data));
        return;
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("instance " + instanceId + " not reachable from node " + node, e);
        }
        Thread.sleep(200);
      }
    }
  }

  /**
   * Posts webhooks one at a time, endpoint after endpoint, to the live nodes in turn, until stopped; keeps
   * the bodies each endpoint acknowledged (2xx), in order. A node that does not answer is skipped.
   */
  private static final class IngestLoad implements AutoCloseable {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ClusterProcesses cluster;
    private final List<String> endpoints;
    final Map<String, List<String>> acknowledged = new HashMap<>();
    final AtomicLong refused = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    IngestLoad(ClusterProcesses cluster, List<String> endpoints) {
      this.cluster = cluster;
      this.endpoints = endpoints;
      endpoints.forEach(e -> acknowledged.put(e, new CopyOnWriteArrayList<>()));
      this.thread = new Thread(this::run, "ingest-load");
      thread.start();
    }

    private void run() {
      long seq = 0;
      while (running.get()) {
        seq++;
        for (String endpoint : endpoints) {
          List<Integer> live = cluster.live();
          int node = live.get((int) (seq % live.size()));
          String body = "{\"endpoint\":\"" + endpoint + "\",\"seq\":" + seq + ",\"node\":" + node + "}";
          try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(cluster.node(node).httpBase()
                    .resolve("/h/" + endpoint)).timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 == 2) {
              acknowledged.get(endpoint).add(body);
            } else {
              refused.incrementAndGet();
            }
          } catch (Exception e) {
            refused.incrementAndGet();
          }
        }
      }
    }

    long count() {
      return acknowledged.values().stream().mapToLong(List::size).sum();
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      thread.join(TimeUnit.SECONDS.toMillis(30));
    }
  }

  /** Every acknowledged webhook reached its destination, and first deliveries per endpoint are in ack order. */
  private void assertAllDeliveredInOrder(IngestLoad load) throws Exception {
    for (var entry : load.acknowledged.entrySet()) {
      List<String> acked = List.copyOf(entry.getValue());
      String path = pathOf.get(entry.getKey());
      EdgeApi.await(() -> firstDeliveries(path).containsAll(acked), RECOVERY,
          () -> "endpoint " + entry.getKey() + ": " + acked.size() + " acknowledged, delivered "
              + firstDeliveries(path).size());
      List<String> ackedInDeliveryOrder = firstDeliveries(path).stream().filter(acked::contains).toList();
      assertEquals(acked, ackedInDeliveryOrder, "per-endpoint order of " + entry.getKey());
    }
  }

  private List<String> firstDeliveries(String path) {
    LinkedHashSet<String> first = new LinkedHashSet<>();
    destination.requests(path).forEach(request -> first.add(request.bodyText()));
    return List.copyOf(first);
  }

  /** Endpoint id to the destination path its webhooks are delivered to. */
  private final Map<String, String> pathOf = new HashMap<>();

  /** Creates the endpoints, each through another node, each with its own destination path. */
  private List<String> createEndpoints() throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < ENDPOINTS; i++) {
      String path = "/proof-" + i;
      String id = edge(i % cluster.size()).createEndpoint("proof-" + i, destination.url(path), HUB);
      pathOf.put(id, path);
      ids.add(id);
    }
    return ids;
  }

  private TestHub hubOn(int node) throws Exception {
    TestHub hub = closing(TestHub.connect(cluster.node(node).grpcPort(), HUB, SECRET,
        Instant.now().getEpochSecond() + closeables.size()));
    hub.awaitConnectResponse(STEP);
    return hub;
  }

  @Test
  void killNineOfOneNodeUnderLoadLosesNothingAndItsInstancesComeBackOnTheOthers() throws Exception {
    List<String> endpoints = createEndpoints();
    hubOn(2); // the hub is on the node that dies: it must take over on another one

    // Two instances per node; a client on the next node reaches each one (sessions across nodes).
    Map<String, KeyPair> keys = new HashMap<>();
    Map<String, Integer> homeOf = new HashMap<>();
    for (int i = 0; i < 6; i++) {
      String id = "proof-instance-" + i;
      keys.put(id, KeyPair.generate());
      homeOf.put(id, i % 3);
      register(i % 3, id, keys.get(id));
    }
    for (String id : keys.keySet()) {
      assertReachable((homeOf.get(id) + 1) % 3, id);
    }
    // A claim code made through the node that dies is consumed through another after the crash.
    String victim = "proof-instance-2";
    KeyPair claimsKey = KeyPair.generate();
    SimulatedInstance victimInstance = register(2, victim + "-claims", claimsKey);
    String claim = victimInstance.createClaim("proof-user", STEP).path("code").asText();

    // A session between the two survivors keeps relaying while the third node dies.
    SimulatedClient survivorSession = closing(SimulatedClient.connectToInstance(cluster.node(1).wsBase(),
        "proof-instance-0", STEP));
    AtomicLong echoes = new AtomicLong();
    AtomicReference<Throwable> sessionFailure = new AtomicReference<>();
    AtomicBoolean relaying = new AtomicBoolean(true);
    Thread sessionLoad = new Thread(() -> {
      try {
        for (long n = 0; relaying.get(); n++) {
          byte[] data = bytes("survivor frame " + n);
          assertArrayEquals(data, survivorSession.echo(data));
          echoes.incrementAndGet();
        }
      } catch (Throwable t) {
        sessionFailure.set(t);
      }
    }, "survivor-session");
    sessionLoad.start();

    try (IngestLoad load = new IngestLoad(cluster, endpoints)) {
      EdgeApi.await(() -> load.count() >= 30, STEP, () -> "30 webhooks acknowledged before the kill");
      cluster.kill(2);
      long echoesAtKill = echoes.get();
      long ackedAtKill = load.count();
      cluster.awaitMembers(2);
      // The hub and the dead node's instances reconnect to the survivors.
      hubOn(0);
      for (String id : keys.keySet()) {
        if (homeOf.get(id) == 2) {
          register(0, id, keys.get(id));
        }
      }
      register(1, victim + "-claims", claimsKey);
      EdgeApi.await(() -> load.count() >= ackedAtKill + 30, RECOVERY, () -> "30 webhooks acknowledged after the kill");
      EdgeApi.await(() -> echoes.get() >= echoesAtKill + 10 || sessionFailure.get() != null, RECOVERY,
          () -> "the survivors' session to relay after the kill");
      relaying.set(false);
      sessionLoad.join(STEP.toMillis());
      assertEquals(null, sessionFailure.get(), "the session between the two survivors failed");
      load.close();
      assertAllDeliveredInOrder(load);
      System.out.printf("kill -9 proof: webhooks acknowledged=%d (at kill %d) not acknowledged=%d delivered=%d;"
          + " survivor session echoes=%d (at kill %d)%n", load.count(), ackedAtKill, load.refused.get(),
          destination.requests().size(), echoes.get(), echoesAtKill);
    }

    for (String id : keys.keySet()) {
      assertReachable(homeOf.get(id) == 0 ? 1 : 0, id);
    }
    // Key pins survived: the id is still pinned to its key.
    IllegalStateException refused = assertThrows(IllegalStateException.class, () -> SimulatedInstance.start(
        cluster.node(1).wsBase(), "proof-instance-2", KeyPair.generate(), Duration.ofSeconds(5), STEP));
    assertTrue(refused.getMessage().contains("key_mismatch"), refused.getMessage());
    // The claim code made before the crash still pairs.
    try (SimulatedClient claimed = SimulatedClient.connectWithClaim(cluster.node(0).wsBase(), claim, STEP)) {
      assertEquals(victim + "-claims", claimed.connected().path("instance_id").asText(), claimed.connected().toString());
      byte[] data = bytes("claimed after the crash");
      assertArrayEquals(data, claimed.echo(data));
    }
  }

  @Test
  void aGracefulLeaveUnderLoadTellsItsSocketsShuttingDownAndLosesNothing() throws Exception {
    List<String> endpoints = createEndpoints();
    hubOn(2);
    KeyPair key = KeyPair.generate();
    SimulatedInstance leaving = register(2, "leaving-instance", key);
    SimulatedClient client = closing(SimulatedClient.connectToInstance(cluster.node(2).wsBase(), "leaving-instance", STEP));
    byte[] before = bytes("before the leave");
    assertArrayEquals(before, client.echo(before));

    try (IngestLoad load = new IngestLoad(cluster, endpoints)) {
      EdgeApi.await(() -> load.count() >= 30, STEP, () -> "30 webhooks acknowledged before the leave");
      assertEquals(0, cluster.terminate(2, RECOVERY), "exit status of the leaving node");
      RelayConnection.CloseFrame instanceClose = leaving.connection().closeFrame().toCompletableFuture()
          .get(STEP.toMillis(), TimeUnit.MILLISECONDS);
      RelayConnection.CloseFrame clientClose = client.connection().closeFrame().toCompletableFuture()
          .get(STEP.toMillis(), TimeUnit.MILLISECONDS);
      assertEquals("shutting_down", instanceClose.reason(), instanceClose.toString());
      assertEquals("shutting_down", clientClose.reason(), clientClose.toString());
      cluster.awaitMembers(2);
      hubOn(1);
      register(0, "leaving-instance", key);
      long ackedAfterLeave = load.count();
      EdgeApi.await(() -> load.count() >= ackedAfterLeave + 30, RECOVERY, () -> "30 webhooks acknowledged after the leave");
      load.close();
      assertAllDeliveredInOrder(load);
      System.out.printf("graceful leave proof: webhooks acknowledged=%d not acknowledged=%d delivered=%d%n",
          load.count(), load.refused.get(), destination.requests().size());
    }
    assertReachable(1, "leaving-instance");
  }
}
