package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.HubConnection;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawDestination;
import dev.conduit.testing.TestCluster;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two relays in one cluster act as one: webhooks taken by either node reach the hub wherever it is
 * connected, in order and once each; a hub that reconnects to the other node takes over; endpoint
 * definitions changed on one node hold on the other. Messages between the nodes are serialized (two
 * actor systems), so whatever crosses between them is exercised here.
 */
class ClusterWebhookTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final String HUB = "home";
  private static final String SECRET = "hub-secret-for-tests";
  private static final String TOKEN = "admin-token";

  private static TestDatabase db;
  private static TestCluster cluster;
  private static RawDestination destination;
  private static EdgeApi[] api;

  @BeforeAll
  static void start() throws Exception {
    Config config = ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", HUB + ":" + SECRET, "conduit.webhook.admin-token", TOKEN,
        // Hang guards only: a loaded machine must not turn into a 503.
        "conduit.webhook.ingest-timeout", "30s", "conduit.webhook.ask-timeout", "30s"));
    db = TestDatabase.create(TestDatabase.Kind.POSTGRES);
    destination = RawDestination.start();
    cluster = TestCluster.start(db, 2, config);
    api = new EdgeApi[] {new EdgeApi(cluster.httpBase(0), TOKEN), new EdgeApi(cluster.httpBase(1), TOKEN)};
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (destination != null) {
      destination.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void webhooksTakenByEitherNodeReachTheHubInOrderOnce_andAHubThatMovesToTheOtherNodeTakesOver() throws Exception {
    String path = "/ordered";
    String endpoint = api[0].createEndpoint("ordered", destination.url(path), HUB);
    awaitKnown(1, endpoint);
    List<String> sent = new ArrayList<>();
    List<String> ids = new ArrayList<>();

    try (TestHub first = TestHub.connect(cluster.node(1).grpcPort(), HUB, SECRET)) {
      first.awaitConnectResponse(TIMEOUT);
      awaitHubConnectedEverywhere(true);
      // Alternating nodes: whichever node the entity lives on, half of the ingests cross to it, and its
      // offers cross to the hub's node or come from the other one.
      for (int i = 0; i < 20; i++) {
        sent.add("{\"n\":" + i + ",\"text\":\"caf\u00e9 \u2603\"}");
        ids.add(ingest(i % 2, endpoint, sent.get(i)));
      }
      for (String id : ids) {
        api[0].awaitStatus(id, "delivered", TIMEOUT);
      }
      assertEquals(20, first.webhooks().size(), "each offered once to the hub on node 1");

      // The hub reconnects to node 0: the connection on node 1 is replaced (closed), the new one takes over.
      try (TestHub second = TestHub.connect(cluster.node(0).grpcPort(), HUB, SECRET,
          Instant.now().getEpochSecond() + 1)) {
        second.awaitConnectResponse(TIMEOUT);
        Throwable ended = first.awaitEnd(TIMEOUT);
        assertNotNull(ended, "the older connection was ended by the relay");
        Status status = Status.fromThrowable(ended);
        assertEquals(Status.Code.ABORTED, status.getCode(), ended.toString());
        assertEquals(HubConnection.REPLACED_DESCRIPTION, status.getDescription());

        for (int i = 20; i < 40; i++) {
          sent.add("{\"n\":" + i + "}");
          ids.add(ingest(i % 2, endpoint, sent.get(i)));
        }
        for (String id : ids) {
          api[0].awaitStatus(id, "delivered", TIMEOUT);
        }
        assertEquals(20, first.webhooks().size(), "nothing went to the replaced connection");
        assertEquals(20, second.webhooks().size(), "the rest went to the connection on node 0");
      }
    }

    List<RawDestination.Request> received = destination.requests().stream()
        .filter(r -> r.target().equals(path)).toList();
    assertEquals(sent.size(), received.size(), "each delivered exactly once");
    Set<String> deliveredIds = new HashSet<>();
    for (int i = 0; i < sent.size(); i++) {
      RawDestination.Request request = received.get(i);
      assertArrayEquals(sent.get(i).getBytes(StandardCharsets.UTF_8), request.body(), "order and bytes, #" + i);
      assertEquals("application/json; charset=utf-8", header(request, "content-type"));
      assertEquals("two  spaces, kept", header(request, "x-custom"));
      deliveredIds.add(header(request, "x-conduit-webhook-id"));
    }
    assertEquals(new HashSet<>(ids), deliveredIds);
  }

  @Test
  void anEndpointCreatedOnOneNodeIsTakenByTheOther_andOneDeletedThereIsRefusedHere() throws Exception {
    String endpoint = api[0].createEndpoint("created-on-0", destination.url("/created"), HUB);
    awaitKnown(1, endpoint);
    String id = api[1].ingestOk(endpoint, "{\"via\":1}");
    assertNotNull(api[0].webhook(id), "stored, visible from either node");

    EdgeApi.Response deleted = api[1].admin("DELETE", "/api/endpoints/" + endpoint + "?force=true", null);
    assertEquals(204, deleted.status(), deleted.body());
    EdgeApi.await(() -> status(0, endpoint) == 404, TIMEOUT, () -> "node 0 to forget the deleted endpoint");
    EdgeApi.Response refused = api[0].ingest(endpoint, "{\"via\":0}");
    assertEquals(404, refused.status(), refused.body());
  }

  private static String ingest(int node, String endpoint, String body) throws Exception {
    EdgeApi.Response response = api[node].send("POST", "/h/" + endpoint, body,
        Map.of("Content-Type", "application/json; charset=utf-8", "X-Custom", "two  spaces, kept"));
    assertEquals(200, response.status(), "ingest on node " + node + ": " + response.body());
    return response.json().path("id").asText();
  }

  /** Waits until node knows the endpoint (its copy of the definitions has it). */
  private static void awaitKnown(int node, String endpoint) throws Exception {
    EdgeApi.await(() -> status(node, endpoint) == 200, TIMEOUT, () -> "node " + node + " to know " + endpoint);
  }

  private static int status(int node, String endpoint) {
    try {
      return api[node].admin("GET", "/api/endpoints/" + endpoint, null).status();
    } catch (Exception e) {
      return -1;
    }
  }

  private static void awaitHubConnectedEverywhere(boolean connected) throws Exception {
    for (int node = 0; node < 2; node++) {
      int n = node;
      EdgeApi.await(() -> {
        try {
          JsonNode status = api[n].admin("GET", "/api/status", null).json();
          JsonNode hubs = api[n].admin("GET", "/api/hubs", null).json().path("hubs");
          return status.path("webhook").path("hubs_connected").asInt() == (connected ? 1 : 0)
              && hubs.get(0).path("connected").asBoolean() == connected;
        } catch (Exception e) {
          return false;
        }
      }, TIMEOUT, () -> "node " + n + " to see the hub " + (connected ? "connected" : "gone"));
    }
  }

  private static String header(RawDestination.Request request, String name) {
    return request.headerLines().stream()
        .filter(line -> line.substring(0, line.indexOf(':')).toLowerCase(Locale.ROOT).equals(name))
        .map(line -> line.substring(line.indexOf(':') + 1).strip()).findFirst().orElse(null);
  }
}
