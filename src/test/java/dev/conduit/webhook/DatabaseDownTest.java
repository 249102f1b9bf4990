package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigValueFactory;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The database goes away under a running edge: ingest answers 503 (never a 2xx for something not
 * stored); once it is back, ingest succeeds again and everything that got a 2xx is delivered.
 */
class DatabaseDownTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @Test
  void ingestAnswers503WhileTheDatabaseIsDown() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES);
         TestServer server = TestServer.start(db, WebhookRelayEndToEndTest.overrides()
             .withValue("conduit.webhook.ingest-timeout", ConfigValueFactory.fromAnyRef("2s")));
         TestDestination destination = TestDestination.start()) {
      EdgeApi api = new EdgeApi(server.httpBase(), WebhookRelayEndToEndTest.TOKEN);
      String endpoint = api.createEndpoint("ep", destination.url("/ep"), WebhookRelayEndToEndTest.HUB);
      List<String> accepted = new ArrayList<>();
      accepted.add(api.ingestOk(endpoint, "{\"n\":0}"));

      db.setPostgresAvailable(false);
      EdgeApi.Response down = api.ingest(endpoint, "{\"n\":1}");
      assertEquals(503, down.status(), down.body());
      assertEquals("unavailable", down.json().path("error").asText());
      EdgeApi.Response notReady = api.send("GET", "/readyz", null, java.util.Map.of());
      assertEquals(503, notReady.status(), notReady.body());
      assertEquals("unreachable", notReady.json().path("journal").asText());
      // The tunnel cannot pin a new instance's key either: a clear refusal, not silence.
      try (RelayConnection instance = RelayConnection.open(server.wsBase().resolve("/relay/tunnel/websocket"), TIMEOUT)) {
        instance.send("{\"type\":\"register\",\"instance_id\":\"" + java.util.UUID.randomUUID()
            + "\",\"public_key\":\"" + java.util.Base64.getEncoder().encodeToString(new byte[32]) + "\"}");
        assertEquals("{\"type\":\"error\",\"message\":\"Registration failed\"}",
            instance.expect("error", TIMEOUT).toString());
      }

      db.setPostgresAvailable(true);
      EdgeApi.Response[] last = new EdgeApi.Response[1];
      EdgeApi.await(() -> {
        try {
          last[0] = api.ingest(endpoint, "{\"n\":2}");
          return last[0].status() == 200;
        } catch (Exception e) {
          return false;
        }
      }, TIMEOUT, () -> "ingest to work again, last " + last[0]);
      accepted.add(last[0].json().path("id").asText());
      assertEquals(200, api.send("GET", "/readyz", null, java.util.Map.of()).status(), "ready again");

      try (TestHub hub = TestHub.connect(server.grpcPort(), WebhookRelayEndToEndTest.HUB,
          WebhookRelayEndToEndTest.SECRET)) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        for (String id : accepted) {
          api.awaitStatus(id, "delivered", TIMEOUT);
        }
      }
    }
  }
}
