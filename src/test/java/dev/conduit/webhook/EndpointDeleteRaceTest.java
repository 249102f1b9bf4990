package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Deleting an endpoint while a webhook for it arrives: whichever comes first wins, and a webhook that got
 * a 2xx always ends delivered, failed or dead-lettered. The hub of these endpoints never connects, so
 * what is stored stays queued until the test acts. The chunked body is written piece by piece from a raw
 * socket, so each order is forced, not hoped for.
 */
class EndpointDeleteRaceTest {
  private static final String TOKEN = WebhookRelayEndToEndTest.TOKEN;
  private static final String OFFLINE_HUB = "other";

  /** The relay tests' settings, with the ingest and ask timeouts as hang guards only (a loaded machine). */
  private static Config config() {
    return ConfigFactory.parseMap(Map.of("conduit.webhook.ingest-timeout", "30s",
        "conduit.webhook.ask-timeout", "30s")).withFallback(WebhookRelayEndToEndTest.overrides());
  }

  /** The DELETE comes while the body is still arriving: it wins, the ingest answers 404 and stores nothing. */
  @Test
  void deleteDuringTheBody_ingestAnswers404AndStoresNothing() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, config())) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String endpoint = api.createEndpoint("racing", "http://127.0.0.1:9/unused", OFFLINE_HUB);
      try (RawHttp sender = RawHttp.connect(server.port())) {
        // Expect: 100-continue makes the race deterministic: the server sends 100 only once the ingest route
        // has found the endpoint and started reading the body, so the DELETE below surely comes during it
        // (without it, a slow route could see the deletion first and answer 404 before the body was sent).
        sender.write("POST /h/" + endpoint + " HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
            + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
        assertEquals(100, sender.readResponse().status(), "the route reads the body");
        sender.writeChunk("{\"n\":".getBytes(StandardCharsets.UTF_8));

        assertEquals(204, api.admin("DELETE", "/api/endpoints/" + endpoint, null).status());

        sender.writeChunk("1}".getBytes(StandardCharsets.UTF_8));
        sender.writeLastChunk();
        RawHttp.Response response = sender.readResponse();
        assertEquals(404, response.status(), response.body());
        assertEquals("not_found", EdgeApi.MAPPER.readTree(response.body()).path("error").asText());
      }
      JsonNode stored = api.admin("GET", "/api/webhooks?endpoint=" + endpoint, null).json();
      assertEquals(0, stored.path("webhooks").size(), "nothing stored: " + stored);
    }
  }

  /**
   * The webhook is stored first: a plain DELETE is refused (409, one queued); a forced one marks it failed
   * ("endpoint deleted"), which is terminal, and it cannot be replayed to an endpoint that is gone.
   */
  @Test
  void storedFirst_deleteRefusedUnlessForcedWhichFailsTheQueuedWebhook() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, config())) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String endpoint = api.createEndpoint("stored-first", "http://127.0.0.1:9/unused", OFFLINE_HUB);
      String id;
      try (RawHttp sender = RawHttp.connect(server.port())) {
        sender.write("POST /h/" + endpoint + " HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n");
        sender.writeChunk("{\"n\":1}".getBytes(StandardCharsets.UTF_8));
        sender.writeLastChunk();
        RawHttp.Response response = sender.readResponse();
        assertEquals(200, response.status(), response.body());
        id = EdgeApi.MAPPER.readTree(response.body()).path("id").asText();
      }

      EdgeApi.Response refused = api.admin("DELETE", "/api/endpoints/" + endpoint, null);
      assertEquals(409, refused.status(), refused.body());
      assertEquals("webhooks_queued", refused.json().path("error").asText());
      assertEquals(1, refused.json().path("queued").asInt());
      assertEquals(200, api.admin("GET", "/api/endpoints/" + endpoint, null).status(), "still there");

      assertEquals(204, api.admin("DELETE", "/api/endpoints/" + endpoint + "?force=true", null).status());
      JsonNode failed = api.awaitStatus(id, "failed", WebhookRelayEndToEndTest.TIMEOUT);
      assertEquals(WebhookEndpoint.ENDPOINT_DELETED, failed.path("last_error").asText());
      EdgeApi.Response replay = api.admin("POST", "/api/webhooks/" + id + "/replay", null);
      assertEquals(409, replay.status(), replay.body());
      assertEquals("endpoint_deleted", replay.json().path("error").asText());
      assertEquals(404, api.ingest(endpoint, "{}").status());
    }
  }

  /**
   * An endpoint deleted behind the entities' back (as older versions did with ?force=true) left its
   * queued webhooks stranded for good; after a restart they are now failed, once the definition has
   * been missing for two endpoint refresh intervals (a node's copy may lag the table in a cluster).
   */
  @Test
  void webhooksStrandedByAnOlderDeleteAreFailedAfterARestart() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES)) {
      Config config = config();
      String endpoint;
      String id;
      try (TestServer server = TestServer.start(db, config)) {
        EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
        endpoint = api.createEndpoint("stranded", "http://127.0.0.1:9/unused", OFFLINE_HUB);
        id = api.ingestOk(endpoint, "{}");
        api.awaitStatus(id, "received", WebhookRelayEndToEndTest.TIMEOUT);
      }
      Config c = db.config();
      try (Connection connection = DriverManager.getConnection(c.getString("conduit.db.url"),
               c.getString("conduit.db.user"), c.getString("conduit.db.password"));
           PreparedStatement delete = connection.prepareStatement("DELETE FROM webhook_endpoints WHERE id = ?")) {
        delete.setString(1, endpoint);
        assertEquals(1, delete.executeUpdate());
      }
      try (TestServer restarted = TestServer.start(db, com.typesafe.config.ConfigFactory.parseMap(
          java.util.Map.of("conduit.webhook.endpoint-refresh-interval", "1s")).withFallback(config))) {
        EdgeApi api = new EdgeApi(restarted.httpBase(), TOKEN);
        JsonNode failed = api.awaitStatus(id, "failed", WebhookRelayEndToEndTest.TIMEOUT);
        assertEquals(WebhookEndpoint.ENDPOINT_DELETED, failed.path("last_error").asText());
      }
    }
  }
}
