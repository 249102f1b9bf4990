package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.HubSession;
import dev.conduit.testing.IngestLoad;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * Slow consumer on the hub side: a hub that authenticates and then reads nothing (gRPC requests no
 * message, so HTTP/2 flow control holds the edge back) while webhooks pour in for its endpoints. The
 * edge must keep at most max-outstanding webhooks in flight to it and leave the rest in the journal,
 * keep answering ingest, keep serving another hub, and deliver everything in order once the hub reads.
 */
class SlowHubTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(45); // hang guard only
  private static final String TOKEN = "admin-token";
  private static final String SLOW = "slow";
  private static final String FAST = "fast";
  private static final int MAX_OUTSTANDING = 4;
  private static final int SLOW_ENDPOINTS = 10;
  private static final int FAST_ENDPOINTS = 3;
  private static final int PER_ENDPOINT = 12;
  private static final int SLOW_TOTAL = SLOW_ENDPOINTS * PER_ENDPOINT;
  private static final int FAST_TOTAL = FAST_ENDPOINTS * PER_ENDPOINT;
  /**
   * The first webhook of every slow endpoint is this big, so the ones in flight to the stuck hub
   * (MAX_OUTSTANDING of them, 1.2 MiB) are more than gRPC's default 1 MiB receive window: the edge's
   * writes really do stall on flow control rather than all landing in the hub's buffers.
   */
  private static final int LARGE_BODY_BYTES = 300 * 1024;

  private static Config edgeConfig() {
    return ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", SLOW + ":slow-secret," + FAST + ":fast-secret",
        "conduit.hub.max-outstanding", MAX_OUTSTANDING,
        // The stuck hub sends nothing either; being evicted as stale (and its webhooks requeued) is
        // another fault, kept out of this test.
        "conduit.hub.stale-timeout", "10m",
        // Nothing is offered again to a live stream because it was slow to acknowledge.
        "conduit.webhook.ack-timeout", "10m",
        "conduit.webhook.admin-token", TOKEN,
        "conduit.webhook.sweep-interval", "100ms",
        "conduit.webhook.offer-retry-interval", "200ms"));
  }

  private static String body(int endpoint, int n) {
    String simple = IngestLoad.simpleBody(endpoint, n);
    if (endpoint >= SLOW_ENDPOINTS || n > 0) {
      return simple;
    }
    return simple.substring(0, simple.length() - 1) + ",\"pad\":\"" + "x".repeat(LARGE_BODY_BYTES) + "\"}";
  }

  @Test
  void hubThatStopsReading_holdsOnlyMaxOutstandingInFlight_othersUnaffected_allDeliveredInOrderWhenItReads()
      throws Exception {
    ActorSystem<Void> hubSystem = ActorSystem.create(Behaviors.empty(), "slow-hub");
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer edge = TestServer.start(db, edgeConfig());
         TestDestination destination = TestDestination.start()) {
      EdgeApi api = new EdgeApi(edge.httpBase(), TOKEN);
      List<String> endpoints = new ArrayList<>();
      for (int e = 0; e < SLOW_ENDPOINTS; e++) {
        endpoints.add(api.createEndpoint("slow" + e, "http://127.0.0.1:9/slow" + e, SLOW));
      }
      for (int e = SLOW_ENDPOINTS; e < SLOW_ENDPOINTS + FAST_ENDPOINTS; e++) {
        endpoints.add(api.createEndpoint("fast" + e, destination.url("/ep" + e), FAST));
      }
      List<WebhookEnvelope> slowReceived = new ArrayList<>();
      HubSession slow = HubSession.openNotReading(hubSystem, edge.grpcPort(), SLOW, "slow-secret", (session, webhook) -> {
        synchronized (slowReceived) {
          slowReceived.add(webhook);
        }
        session.ack(webhook.getId());
      });
      assertTrue(slow.awaitConnected(TIMEOUT).getSuccess());
      try (TestHub fast = TestHub.connect(edge.grpcPort(), FAST, "fast-secret")) {
        assertTrue(fast.awaitConnectResponse(TIMEOUT).getSuccess());

        List<IngestLoad.Accepted> accepted = IngestLoad.start(api, endpoints, 4, PER_ENDPOINT, SlowHubTest::body)
            .await(TIMEOUT.toSeconds());
        assertEquals(SLOW_TOTAL + FAST_TOTAL, accepted.size(), "ingest answered 200 throughout");
        Map<Integer, List<String>> order = IngestLoad.idsInOrder(accepted);

        // The healthy hub gets all of its webhooks, in order, while the slow one is stuck.
        for (int e = SLOW_ENDPOINTS; e < SLOW_ENDPOINTS + FAST_ENDPOINTS; e++) {
          for (String id : order.get(e)) {
            api.awaitStatus(id, "delivered", TIMEOUT);
          }
          int endpoint = e;
          List<String> expected = accepted.stream().filter(a -> a.endpoint() == endpoint)
              .sorted((a, b) -> Integer.compare(a.n(), b.n())).map(IngestLoad.Accepted::body).toList();
          assertEquals(expected, destination.requests("/ep" + e).stream().map(TestDestination.Request::bodyText)
              .toList(), "fast endpoint " + e + " delivered in order, exactly once");
        }

        // The stuck hub holds exactly max-outstanding webhooks (it has more endpoints than that, all with
        // work): the edge fills the window and goes no further.
        JsonNode slowHub = EdgeApi.awaitValue(() -> hub(api, SLOW), h -> h.path("outstanding").asInt() >= MAX_OUTSTANDING,
            TIMEOUT, "the slow hub's outstanding webhooks");
        assertEquals(MAX_OUTSTANDING, slowHub.path("outstanding").asInt(), slowHub.toString());
        assertTrue(slowHub.path("connected").asBoolean(), "the slow hub is still connected: " + slowHub);
        // The rest wait in the journal as received; only those in flight count as dispatched.
        JsonNode counts = EdgeApi.awaitValue(() -> statusCounts(api),
            c -> c.path("received").asInt() + c.path("dispatched").asInt() == SLOW_TOTAL
                && c.path("dispatched").asInt() >= MAX_OUTSTANDING,
            TIMEOUT, "the read table to show the slow hub's backlog");
        assertEquals(MAX_OUTSTANDING, counts.path("dispatched").asInt(), counts.toString());
        assertEquals(SLOW_TOTAL - MAX_OUTSTANDING, counts.path("received").asInt(), counts.toString());
        assertEquals(FAST_TOTAL, counts.path("delivered").asInt(), counts.toString());
        synchronized (slowReceived) {
          assertEquals(List.of(), slowReceived, "the slow hub has read nothing yet");
        }
        assertEquals(MAX_OUTSTANDING, hub(api, SLOW).path("outstanding").asInt(), "still bounded");

        // The hub reads again: it drains what was in flight, acknowledges, and the edge sends the rest.
        slow.resumeReading();
        EdgeApi.awaitValue(() -> statusCounts(api),
            c -> c.path("delivered").asInt() == SLOW_TOTAL + FAST_TOTAL, TIMEOUT, "everything delivered");
        Map<String, Integer> endpointIndex = new HashMap<>();
        for (int e = 0; e < endpoints.size(); e++) {
          endpointIndex.put(endpoints.get(e), e);
        }
        Map<Integer, List<String>> received;
        synchronized (slowReceived) {
          received = slowReceived.stream().collect(Collectors.groupingBy(w -> endpointIndex.get(w.getEndpointId()),
              Collectors.mapping(WebhookEnvelope::getId, Collectors.toList())));
        }
        for (int e = 0; e < SLOW_ENDPOINTS; e++) {
          assertEquals(order.get(e), received.get(e), "slow endpoint " + e + ": in ingest order, exactly once");
        }
        JsonNode after = hub(api, SLOW);
        assertEquals(0, after.path("outstanding").asInt(), after.toString());
      } finally {
        slow.close();
      }
    } finally {
      hubSystem.terminate();
    }
  }

  /**
   * A stuck hub is restarted: the new connection replaces the stuck stream, and what was in flight to
   * the stuck one comes again on the new one, in order, exactly once.
   */
  @Test
  void stuckHubReplacedByANewConnection_getsWhatWasInFlightAgain_allInOrder() throws Exception {
    ActorSystem<Void> hubSystem = ActorSystem.create(Behaviors.empty(), "restarted-hub");
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer edge = TestServer.start(db, edgeConfig())) {
      EdgeApi api = new EdgeApi(edge.httpBase(), TOKEN);
      List<String> endpoints = new ArrayList<>();
      for (int e = 0; e < SLOW_ENDPOINTS; e++) {
        endpoints.add(api.createEndpoint("slow" + e, "http://127.0.0.1:9/slow" + e, SLOW));
      }
      List<WebhookEnvelope> stale = new ArrayList<>();
      HubSession stuck = HubSession.openNotReading(hubSystem, edge.grpcPort(), SLOW, "slow-secret", (session, webhook) -> {
        synchronized (stale) {
          stale.add(webhook);
        }
        session.ack(webhook.getId()); // too late: its stream was replaced, the edge ignores it
      });
      assertTrue(stuck.awaitConnected(TIMEOUT).getSuccess());
      List<IngestLoad.Accepted> accepted = IngestLoad.start(api, endpoints, 4, PER_ENDPOINT, SlowHubTest::body)
          .await(TIMEOUT.toSeconds());
      assertEquals(SLOW_TOTAL, accepted.size(), "ingest answered 200 throughout");
      JsonNode stuckHub = EdgeApi.awaitValue(() -> hub(api, SLOW), h -> h.path("outstanding").asInt() >= MAX_OUTSTANDING,
          TIMEOUT, "the stuck hub's outstanding webhooks");
      assertEquals(MAX_OUTSTANDING, stuckHub.path("outstanding").asInt(), stuckHub.toString());

      List<WebhookEnvelope> received = new ArrayList<>();
      try (HubSession restarted = HubSession.open(hubSystem, edge.grpcPort(), SLOW, "slow-secret", (session, webhook) -> {
        synchronized (received) {
          received.add(webhook);
        }
        session.ack(webhook.getId());
      })) {
        assertTrue(restarted.awaitConnected(TIMEOUT).getSuccess());
        EdgeApi.awaitValue(() -> statusCounts(api), c -> c.path("delivered").asInt() == SLOW_TOTAL, TIMEOUT,
            "everything delivered through the new connection");
        Map<String, Integer> endpointIndex = new HashMap<>();
        for (int e = 0; e < endpoints.size(); e++) {
          endpointIndex.put(endpoints.get(e), e);
        }
        Map<Integer, List<String>> perEndpoint;
        synchronized (received) {
          perEndpoint = received.stream().collect(Collectors.groupingBy(w -> endpointIndex.get(w.getEndpointId()),
              Collectors.mapping(WebhookEnvelope::getId, Collectors.toList())));
        }
        Map<Integer, List<String>> order = IngestLoad.idsInOrder(accepted);
        for (int e = 0; e < SLOW_ENDPOINTS; e++) {
          assertEquals(order.get(e), perEndpoint.get(e), "endpoint " + e + ": in ingest order, exactly once");
        }
        JsonNode after = hub(api, SLOW);
        assertEquals(0, after.path("outstanding").asInt(), after.toString());
        assertTrue(after.path("connected_since").asText().compareTo(stuckHub.path("connected_since").asText()) > 0,
            "the hub's live connection is the new one: " + after);

        // The edge ended the stuck stream when it was replaced, but the end (gRPC trailers) queues behind the
        // data flow control holds back, so the stuck hub only learns of it once it reads: it then finds no
        // more than the webhooks that were in flight to it, and the end.
        stuck.resumeReading();
        EdgeApi.await(stuck::ended, TIMEOUT, () -> "the replaced stream to end once its hub reads");
        synchronized (stale) {
          assertTrue(stale.size() <= MAX_OUTSTANDING, stale.size() + " webhooks were written to the stuck stream");
        }
        assertEquals(SLOW_TOTAL, statusCounts(api).path("delivered").asInt());
      } finally {
        stuck.close();
      }
    } finally {
      hubSystem.terminate();
    }
  }

  private static JsonNode hub(EdgeApi api, String hubId) {
    try {
      for (JsonNode hub : api.admin("GET", "/api/hubs", null).json().path("hubs")) {
        if (hub.path("hub_id").asText().equals(hubId)) {
          return hub;
        }
      }
      throw new AssertionError("hub " + hubId + " not listed");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode statusCounts(EdgeApi api) {
    try {
      return api.send("GET", "/api/status", null, Map.of()).json().path("webhook").path("webhooks");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
