package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.noise.KeyPair;
import dev.conduit.server.Json;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The operator endpoints: health, readiness, one instance's status, and the relay's counts. */
class TunnelStatusTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final String TOKEN = "admin-token";
  private static final int LOOKUP_BURST = 3;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private HttpResponse<String> get(URI uri) throws Exception {
    return http.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthReadinessInstanceStatusAndCounts() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.webhook.admin-token", TOKEN,
             // The offline poll below may look up many times; the rate limit has its own test.
             "conduit.tunnel.status-rate-limit.burst", 1000)))) {
      URI base = server.httpBase();
      assertEquals(200, get(base.resolve("/healthz")).statusCode());
      HttpResponse<String> ready = get(base.resolve("/readyz"));
      assertEquals(200, ready.statusCode());
      assertEquals("reachable", Json.MAPPER.readTree(ready.body()).path("journal").asText());

      String id = UUID.randomUUID().toString();
      assertEquals(404, get(base.resolve("/relay/instances/" + id)).statusCode());

      SimulatedInstance instance = SimulatedInstance.start(server.wsBase(), id, KeyPair.generate(),
          Duration.ofSeconds(30), TIMEOUT);
      try (SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
        client.echo(new byte[100]);
        HttpResponse<String> response = get(base.resolve("/relay/instances/" + id));
        assertEquals(200, response.statusCode());
        JsonNode status = Json.MAPPER.readTree(response.body());
        assertTrue(status.path("online").asBoolean());
        assertEquals(1, status.path("sessions").asInt());
        assertFalse(status.has("direct_urls"), "the public lookup never gives out private addresses: " + status);
        HttpResponse<String> admin = http.send(HttpRequest.newBuilder(base.resolve("/api/instances/" + id))
            .header("Authorization", "Bearer " + TOKEN).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, admin.statusCode());
        JsonNode full = Json.MAPPER.readTree(admin.body());
        assertEquals("http://192.168.1.10:8096", full.path("direct_urls").path(0).asText());
        assertEquals(1, full.path("direct_urls").size());
        assertTrue(full.path("online").asBoolean());
        assertEquals(401, get(base.resolve("/api/instances/" + id)).statusCode(), "admin lookup needs the token");
        assertFalse(status.path("registered_at").asText().isEmpty());
        assertFalse(response.body().contains(instance.publicKeyBase64()), "never exposes the key");

        JsonNode counts = Json.MAPPER.readTree(get(base.resolve("/api/status")).body()).path("tunnel");
        assertEquals(1, counts.path("instances_online").asInt());
        assertEquals(1, counts.path("sessions_open").asInt());
        assertTrue(counts.path("bytes_relayed").asLong() > 100, "handshake and data were counted");
      }
      instance.close();
      JsonNode offline = null;
      for (int i = 0; i < 50; i++) {
        offline = Json.MAPPER.readTree(get(base.resolve("/relay/instances/" + id)).body());
        if (!offline.path("online").asBoolean(true)) {
          break;
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
      assertFalse(offline.path("online").asBoolean(true), "reported offline after it left: " + offline);
      assertFalse(offline.path("last_seen").asText().isEmpty());
    }
  }

  @Test
  void publicLookupsAreRateLimitedPerAddress() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.tunnel.status-rate-limit.burst", LOOKUP_BURST,
             // One token per 1000 s: none comes back while the test runs.
             "conduit.tunnel.status-rate-limit.per-second", 0.001)));
         RawHttp busy = RawHttp.connect("127.0.0.1", server.port(), TIMEOUT);
         RawHttp other = RawHttp.connect("127.0.0.2", server.port(), TIMEOUT)) {
      String path = "/relay/instances/" + UUID.randomUUID();
      for (int i = 0; i < LOOKUP_BURST; i++) {
        assertEquals(404, busy.get(path).status(), "lookup " + (i + 1));
      }
      RawHttp.Response limited = busy.get(path);
      assertEquals(429, limited.status());
      assertEquals("{\"error\":\"rate_limited\",\"message\":\"Too many lookups, retry later\"}", limited.body());
      assertEquals("1000", limited.header("Retry-After"));
      assertEquals(404, other.get(path).status(), "another address has its own budget");
    }
  }
}
