package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.client.HubClient;
import dev.conduit.hub.client.HubClientSettings;
import dev.conduit.hub.client.RunningHubClient;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.CuttableProxy;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.HubSession;
import dev.conduit.testing.IngestLoad;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hub flaps: the hub's stream is cut again and again while senders ingest webhooks concurrently. Every
 * webhook that got a 200 must reach the hub at least once, the first deliveries of an endpoint must come
 * in ingest order, and a webhook may only come again with its own id (what hubs de-duplicate on).
 *
 * <p>Cuts are driven by events, not by time: after a seeded-random number of webhooks (5 to 30) has
 * reached the hub, the connection carrying the last one is cut before that one is acknowledged, so
 * every cut leaves at least one webhook that the edge must send again. Nothing asserts on timing.
 * The raw hub alternates two ways of going away: closing its stream (RST_STREAM), and falling silent
 * with the stream left open, so that only its successor's connect (which replaces it) frees its
 * webhooks. The production hub client loses its TCP connection (reset by a proxy).
 */
class HubFlapTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(45); // hang guard only
  private static final String HUB = "home";
  private static final String SECRET = "home-secret";
  private static final String TOKEN = "admin-token";
  private static final int ENDPOINTS = 12;
  private static final int SENDERS = 4;
  private static final int PER_ENDPOINT = 25;
  private static final int TOTAL = ENDPOINTS * PER_ENDPOINT;
  private static final int MIN_GAP = 5;
  private static final int MAX_GAP = 30;
  private static final long SEED = 20240611L;

  /** Short retry timers so a webhook whose offer was lost in a cut is offered again quickly. */
  private static Config edgeConfig() {
    return ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", HUB + ":" + SECRET,
        "conduit.webhook.admin-token", TOKEN,
        "conduit.webhook.sweep-interval", "100ms",
        "conduit.webhook.offer-retry-interval", "200ms"));
  }

  /** One webhook as the hub saw it, and on which of its sessions (1, 2, …). */
  private record Receipt(int session, WebhookEnvelope envelope) {}

  /** Counts webhooks down to the next cut; the gaps come from a seeded Random. */
  private static final class CutSchedule {
    private final Random random = new Random(SEED);
    private int untilCut = nextGap();
    private int cuts;

    /** Called once per webhook: 0, or the number of the cut to make now (1, 2, …). */
    synchronized int cutNow() {
      if (--untilCut > 0) {
        return 0;
      }
      untilCut = nextGap();
      return ++cuts;
    }

    synchronized int cuts() {
      return cuts;
    }

    private int nextGap() {
      return MIN_GAP + random.nextInt(MAX_GAP - MIN_GAP + 1);
    }
  }

  @Test
  void rawHubCutWhileIngesting_everyWebhookArrivesInOrderAndComesAgainOnlyWithItsOwnId() throws Exception {
    ActorSystem<Void> hubSystem = ActorSystem.create(Behaviors.empty(), "flapping-hub");
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer edge = TestServer.start(db, edgeConfig())) {
      EdgeApi api = new EdgeApi(edge.httpBase(), TOKEN);
      List<String> endpoints = createEndpoints(api, "http://127.0.0.1:9/unused");
      CutSchedule schedule = new CutSchedule();
      List<Receipt> receipts = new ArrayList<>();
      List<String> cutBefore = new ArrayList<>(); // webhooks whose session was cut before they were acked

      List<HubSession> abandoned = new ArrayList<>();

      IngestLoad load = IngestLoad.start(api, endpoints, SENDERS, PER_ENDPOINT, IngestLoad::simpleBody);
      HubSession live = null;
      for (int session = 1; live == null; session++) {
        int index = session;
        CompletableFuture<Void> over = new CompletableFuture<>();
        AtomicBoolean silent = new AtomicBoolean();
        HubSession hub = HubSession.open(hubSystem, edge.grpcPort(), HUB, SECRET, (s, webhook) -> {
          if (silent.get()) {
            return; // gone without closing its stream: whatever still comes is never acknowledged
          }
          synchronized (receipts) {
            receipts.add(new Receipt(index, webhook));
          }
          int cut = schedule.cutNow();
          if (cut == 0) {
            s.ack(webhook.getId());
            return;
          }
          synchronized (cutBefore) {
            cutBefore.add(webhook.getId());
          }
          if (cut % 2 == 1) {
            s.cut(); // the hub closes its stream
          } else {
            silent.set(true); // the hub is gone without a word: its successor must replace the stream
          }
          over.complete(null);
        });
        assertTrue(hub.awaitConnected(TIMEOUT).getSuccess(), "session " + session + " authenticated");
        EdgeApi.await(() -> over.isDone() || allDelivered(load, api), TIMEOUT,
            () -> "session " + index + " cut or everything delivered; " + receipts.size() + " received");
        if (!over.isDone()) {
          live = hub; // everything is delivered: stop flapping
        } else if (silent.get()) {
          abandoned.add(hub);
        }
      }
      for (HubSession old : abandoned) {
        EdgeApi.await(old::ended, TIMEOUT, () -> "a stream replaced by a newer connection is ended by the edge");
      }
      List<IngestLoad.Accepted> accepted = load.await(TIMEOUT.toSeconds());
      assertEquals(TOTAL, accepted.size(), "every ingest answered 200 while the hub flapped");
      assertTrue(schedule.cuts() >= TOTAL / MAX_GAP, "the hub flapped: " + schedule.cuts() + " cuts");

      List<Receipt> seen;
      synchronized (receipts) {
        seen = List.copyOf(receipts);
      }
      Map<String, IngestLoad.Accepted> byId = accepted.stream()
          .collect(Collectors.toMap(IngestLoad.Accepted::id, a -> a));
      Map<Integer, List<String>> expectedOrder = IngestLoad.idsInOrder(accepted);
      Map<Integer, List<String>> receivedPerEndpoint = new HashMap<>();
      Map<String, Receipt> previousCopy = new HashMap<>();
      int duplicates = 0;
      for (Receipt receipt : seen) {
        WebhookEnvelope webhook = receipt.envelope();
        IngestLoad.Accepted origin = byId.get(webhook.getId());
        assertTrue(origin != null, "the hub only gets webhooks that were ingested: " + webhook.getId());
        assertEquals(endpoints.get(origin.endpoint()), webhook.getEndpointId(), "endpoint of " + webhook.getId());
        assertEquals(origin.body(), webhook.getPayload().toStringUtf8(), "payload of " + webhook.getId());
        receivedPerEndpoint.computeIfAbsent(origin.endpoint(), e -> new ArrayList<>()).add(webhook.getId());
        Receipt previous = previousCopy.put(webhook.getId(), receipt);
        if (previous != null) {
          duplicates++;
          // Sent again only after the stream that carried it went away, never twice on one live stream.
          assertTrue(receipt.session() > previous.session(), "webhook " + webhook.getId() + " repeated within session "
              + receipt.session());
        }
      }
      for (int e = 0; e < ENDPOINTS; e++) {
        List<String> expected = expectedOrder.get(e);
        List<String> received = receivedPerEndpoint.getOrDefault(e, List.of());
        // Only the head of an endpoint's queue is ever in flight: the stream of copies never goes back
        // to an earlier webhook, and collapsing repeats gives exactly the ingest order.
        List<String> collapsed = new ArrayList<>();
        for (String id : received) {
          if (collapsed.isEmpty() || !collapsed.get(collapsed.size() - 1).equals(id)) {
            collapsed.add(id);
          }
        }
        assertEquals(expected, collapsed, "endpoint " + e + ": first deliveries in ingest order, none missing");
      }
      for (String id : cutBefore) {
        assertTrue(seen.stream().filter(r -> r.envelope().getId().equals(id)).count() >= 2,
            "webhook " + id + " was not acknowledged before its stream was cut: it must come again");
      }
      assertTrue(duplicates >= cutBefore.size(), duplicates + " repeats for " + cutBefore.size() + " cuts");

      assertAllDeliveredInStatusApi(api, accepted);
      live.close();
    } finally {
      hubSystem.terminate();
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void productionHubClientBehindAFlakyNetwork_everyWebhookPostedExactlyOnceInOrder(TestDatabase.Kind kind)
      throws Exception {
    ActorSystem<Void> hubSystem = ActorSystem.create(Behaviors.empty(), "home-hub");
    CutSchedule schedule = new CutSchedule();
    try (TestDatabase db = TestDatabase.create(kind);
         TestServer edge = TestServer.start(db, edgeConfig());
         CuttableProxy network = CuttableProxy.start(edge.grpcPort());
         // The cut happens while the hub client's POST waits for its answer: its ack cannot reach the edge.
         TestDestination destination = TestDestination.start(request -> {
           if (schedule.cutNow() > 0) {
             network.cut();
           }
           return 200;
         })) {
      EdgeApi api = new EdgeApi(edge.httpBase(), TOKEN);
      List<String> endpoints = new ArrayList<>();
      for (int e = 0; e < ENDPOINTS; e++) {
        endpoints.add(api.createEndpoint("ep" + e, destination.url("/ep" + e), HUB));
      }
      Path secretFile = db.dataDir().resolve("hub.secret");
      Files.writeString(secretFile, SECRET + "\n");
      try (RunningHubClient hub = HubClient.start(hubSystem, hubSettings(network.port(), secretFile))) {
        IngestLoad load = IngestLoad.start(api, endpoints, SENDERS, PER_ENDPOINT, IngestLoad::simpleBody);
        List<IngestLoad.Accepted> accepted = load.await(TIMEOUT.toSeconds());
        assertEquals(TOTAL, accepted.size(), "every ingest answered 200 while the hub flapped");
        EdgeApi.await(() -> allDelivered(load, api), TIMEOUT,
            () -> "everything delivered; destination got " + destination.requests().size() + ", " + hub.stats());
        assertTrue(schedule.cuts() >= TOTAL / MAX_GAP, "the network was cut: " + schedule.cuts() + " times");

        // The client's de-duplication (an LRU of dedupe-size ids, 10000 here) lives in the client actor,
        // not in a connection, so within one process it survives every reconnect: each webhook is POSTed
        // exactly once, and the edge's redeliveries are acknowledged without a second POST.
        for (int e = 0; e < ENDPOINTS; e++) {
          int endpoint = e;
          List<String> expected = accepted.stream().filter(a -> a.endpoint() == endpoint)
              .sorted((a, b) -> Integer.compare(a.n(), b.n())).map(IngestLoad.Accepted::body).toList();
          List<String> posted = destination.requests("/ep" + e).stream().map(TestDestination.Request::bodyText)
              .toList();
          assertEquals(expected, posted, "endpoint " + e + ": POSTed exactly once each, in ingest order");
        }
        // Each cut left one webhook delivered but unacknowledged: the edge sent it again, the client skipped it.
        assertTrue(hub.stats().duplicatesSkipped() >= schedule.cuts(),
            "redeliveries skipped: " + hub.stats() + " for " + schedule.cuts() + " cuts");
        assertAllDeliveredInStatusApi(api, accepted);
      }
    } finally {
      hubSystem.terminate();
    }
  }

  private static List<String> createEndpoints(EdgeApi api, String destinationUrl) throws Exception {
    List<String> endpoints = new ArrayList<>();
    for (int e = 0; e < ENDPOINTS; e++) {
      endpoints.add(api.createEndpoint("ep" + e, destinationUrl, HUB));
    }
    return endpoints;
  }

  /** Every sender is done and the status read table counts all of them delivered, nothing else. */
  private static boolean allDelivered(IngestLoad load, EdgeApi api) {
    if (!load.finished()) {
      return false;
    }
    try {
      JsonNode counts = api.send("GET", "/api/status", null, Map.of()).json().path("webhook").path("webhooks");
      return counts.path("delivered").asInt() == TOTAL;
    } catch (Exception e) {
      return false;
    }
  }

  /** The operators' view: every accepted webhook delivered, none left in any other state, no hub backlog. */
  private static void assertAllDeliveredInStatusApi(EdgeApi api, List<IngestLoad.Accepted> accepted) throws Exception {
    JsonNode counts = api.send("GET", "/api/status", null, Map.of()).json().path("webhook").path("webhooks");
    assertEquals(TOTAL, counts.path("delivered").asInt(), counts.toString());
    for (String other : List.of("received", "dispatched", "retrying", "failed", "dead_lettered")) {
      assertEquals(0, counts.path(other).asInt(), other + " in " + counts);
    }
    Set<String> delivered = new HashSet<>();
    api.admin("GET", "/api/webhooks?status=delivered&limit=1000", null).json().path("webhooks")
        .forEach(w -> delivered.add(w.path("id").asText()));
    Set<String> ids = accepted.stream().map(IngestLoad.Accepted::id).collect(Collectors.toSet());
    assertEquals(ids, delivered, "/api/webhooks lists exactly the accepted webhooks as delivered");
    JsonNode hub = api.admin("GET", "/api/hubs", null).json().path("hubs").get(0);
    assertEquals(HUB, hub.path("hub_id").asText());
    assertEquals(0, hub.path("outstanding").asInt(), "nothing left in flight: " + hub);
  }

  private static HubClientSettings hubSettings(int port, Path secretFile) {
    Map<String, Object> values = Map.of(
        "edge-url", "http://127.0.0.1:" + port, "hub-id", HUB, "secret-file", secretFile.toString(),
        "backoff-min", "20ms", "backoff-max", "200ms");
    Map<String, Object> config = new HashMap<>();
    values.forEach((key, value) -> config.put(HubClientSettings.PATH + "." + key, value));
    return HubClientSettings.from(ConfigFactory.parseMap(config).withFallback(ConfigFactory.load()));
  }
}
