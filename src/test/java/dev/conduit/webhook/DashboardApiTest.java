package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The admin JSON the dashboard needs beyond the original API, over a real edge, hub and destination:
 * a webhook's headers and body read back from the journal ({@code /api/webhooks/{id}/payload}), queue
 * depth per endpoint ({@code queued} in {@code GET /api/endpoints}) and hub heartbeat age.
 */
class DashboardApiTest {
  static final String TOKEN = "dashboard-api-token";
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void payloadQueueDepthAndHeartbeatAge(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.create(kind);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", "home:home-secret,away:away-secret",
             "conduit.webhook.admin-token", TOKEN,
             // The edge heartbeats this often and the test hub answers each: a heartbeat age to report.
             "conduit.hub.heartbeat-interval", "200ms")));
         TestDestination destination = TestDestination.start()) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String delivered = api.createEndpoint("delivered", destination.url("/d"), "home");
      String parked = api.createEndpoint("parked", destination.url("/p"), "away"); // hub "away" never connects

      // Binary body and a UTF-8 header value, written as raw bytes so they arrive exactly as these.
      byte[] binary = {0, 1, 2, (byte) 0xff, (byte) 0xfe, 'a', '\n'};
      java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
      request.writeBytes(RawHttp.latin1("POST /h/" + parked + "?source=test HTTP/1.1\r\nHost: edge\r\n"
          + "Content-Type: application/octet-stream\r\nConnection: close\r\nContent-Length: " + binary.length
          + "\r\nX-Title: "));
      request.writeBytes("deploy ✓\r\n\r\n".getBytes(StandardCharsets.UTF_8));
      request.writeBytes(binary);
      RawHttp.Response ingested = RawHttp.exchange(server.port(), request.toByteArray());
      assertEquals(200, ingested.status(), ingested.body());
      String binaryId = EdgeApi.MAPPER.readTree(ingested.body()).path("id").asText();
      api.ingestOk(parked, "{\"n\":2}");

      try (TestHub hub = TestHub.connect(server.grpcPort(), "home", "home-secret")) {
        String jsonId = api.ingestOk(delivered, "{\"event\":\"push\",\"n\":1}");
        api.awaitStatus(jsonId, "delivered", TIMEOUT);

        JsonNode json = api.admin("GET", "/api/webhooks/" + jsonId + "/payload", null).json();
        assertEquals(jsonId, json.path("id").asText());
        assertEquals("{\"event\":\"push\",\"n\":1}",
            new String(Base64.getDecoder().decode(json.path("body_base64").asText()), StandardCharsets.UTF_8));
        assertEquals(22, json.path("body_bytes").asInt());
        assertEquals("application/json", header(json, "content-type"));

        api.awaitStatus(binaryId, "received", TIMEOUT);
        JsonNode bin = api.admin("GET", "/api/webhooks/" + binaryId + "/payload", null).json();
        assertTrue(java.util.Arrays.equals(binary, Base64.getDecoder().decode(bin.path("body_base64").asText())));
        assertEquals("deploy ✓", header(bin, "x-title"));

        EdgeApi.Response unknown = api.admin("GET", "/api/webhooks/no-such-webhook/payload", null);
        assertEquals(404, unknown.status());
        assertEquals(401, api.send("GET", "/api/webhooks/" + jsonId + "/payload", null, Map.of()).status());

        // Queue depth per endpoint: two waiting for hub "away", none left for the delivered one.
        JsonNode endpoints = EdgeApi.awaitValue(() -> {
          try {
            return api.admin("GET", "/api/endpoints", null).json();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, e -> queued(e, parked) == 2, TIMEOUT, "two queued for the parked endpoint");
        assertEquals(0, queued(endpoints, delivered));

        // The connected hub has a heartbeat age by the relay's clock once it answered one; the other has none.
        JsonNode hubs = EdgeApi.awaitValue(() -> {
          try {
            return api.admin("GET", "/api/hubs", null).json().path("hubs");
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, h -> hub(h, "home").path("heartbeat_age_ms").isIntegralNumber(), TIMEOUT, "a heartbeat from hub home");
        assertTrue(hub(hubs, "home").path("connected").asBoolean(), hubs.toString());
        assertTrue(hub(hubs, "home").path("heartbeat_age_ms").asLong() >= 0, hubs.toString());
        assertTrue(hub(hubs, "away").path("heartbeat_age_ms").isNull(), hubs.toString());
      }
    }
  }

  private static String header(JsonNode payload, String name) {
    for (JsonNode h : payload.path("headers")) {
      if (h.path("name").asText().equals(name)) {
        return h.path("value").asText();
      }
    }
    throw new AssertionError("no header " + name + " in " + payload);
  }

  private static JsonNode hub(JsonNode hubs, String id) {
    for (JsonNode h : hubs) {
      if (h.path("hub_id").asText().equals(id)) {
        return h;
      }
    }
    throw new AssertionError("no hub " + id + " in " + hubs);
  }

  private static long queued(JsonNode endpoints, String id) {
    for (JsonNode e : endpoints.path("endpoints")) {
      if (e.path("id").asText().equals(id)) {
        return e.path("queued").asLong();
      }
    }
    throw new AssertionError("no endpoint " + id + " in " + endpoints);
  }
}
