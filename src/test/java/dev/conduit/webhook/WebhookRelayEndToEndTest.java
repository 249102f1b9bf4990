package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End to end over real sockets: HTTP ingest into a real edge, gRPC (h2c) to a test hub, HTTP POST to a
 * local destination, ACK back, status read from the operators' API.
 */
class WebhookRelayEndToEndTest {
  static final String TOKEN = "admin-token-for-tests";
  static final String HUB = "home";
  static final String SECRET = "home-secret";
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  static Config overrides() {
    return ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", HUB + ":" + SECRET + ",other:other-secret",
        "conduit.webhook.admin-token", TOKEN,
        "conduit.webhook.retry-min-backoff", "100ms",
        "conduit.webhook.sweep-interval", "100ms",
        "conduit.webhook.offer-retry-interval", "500ms",
        "conduit.webhook.max-body-bytes", "4096"));
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void hubOfflineThenOnline_everyWebhookDeliveredInOrderPerEndpoint(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.create(kind);
         TestServer server = TestServer.start(db, overrides());
         TestDestination destination = TestDestination.start()) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      int endpointsCount = 3;
      int perPhase = 10;
      List<String> endpoints = new ArrayList<>();
      for (int e = 0; e < endpointsCount; e++) {
        endpoints.add(api.createEndpoint("ep" + e, destination.url("/ep" + e), HUB));
      }
      List<String> ids = new ArrayList<>();
      // Phase 1: no hub connected; phase 2: hub connected. Endpoints in parallel, each one in order.
      ids.addAll(ingestInParallel(api, endpoints, 0, perPhase));
      assertEquals(0, destination.requests().size(), "nothing delivered without a hub");
      try (TestHub hub = TestHub.connect(server.grpcPort(), HUB, SECRET)) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        ids.addAll(ingestInParallel(api, endpoints, perPhase, perPhase));
        EdgeApi.await(() -> destination.requests().size() >= endpointsCount * perPhase * 2, TIMEOUT,
            () -> "all deliveries, got " + destination.requests().size());
        for (String id : ids) {
          JsonNode status = api.awaitStatus(id, "delivered", TIMEOUT);
          assertEquals(1, status.path("attempts").asInt());
          assertEquals(200, status.path("last_status_code").asInt());
        }
        for (int e = 0; e < endpointsCount; e++) {
          List<String> bodies = destination.requests("/ep" + e).stream().map(TestDestination.Request::bodyText)
              .toList();
          List<String> expected = new ArrayList<>();
          for (int i = 0; i < perPhase * 2; i++) {
            expected.add(body(e, i));
          }
          assertEquals(expected, bodies, "endpoint " + e + " delivered in order, exactly once");
        }
        JsonNode hubs = api.admin("GET", "/api/hubs", null).json().path("hubs");
        JsonNode home = hubs.get(0).path("hub_id").asText().equals(HUB) ? hubs.get(0) : hubs.get(1);
        assertTrue(home.path("connected").asBoolean());
        assertEquals(0, home.path("outstanding").asInt());
        JsonNode list = api.admin("GET", "/api/webhooks?endpoint=" + endpoints.get(0) + "&status=delivered", null)
            .json().path("webhooks");
        assertEquals(perPhase * 2, list.size());
        JsonNode status = api.send("GET", "/api/status", null, Map.of()).json();
        assertTrue(status.path("tunnel").has("instances_online"), "the tunnel section is unchanged");
        assertEquals(endpointsCount * perPhase * 2, status.path("webhook").path("webhooks").path("delivered").asInt());
        assertEquals(1, status.path("webhook").path("hubs_connected").asInt());
      }
    }
  }

  static String body(int endpoint, int i) {
    return "{\"endpoint\":" + endpoint + ",\"n\":" + i + "}";
  }

  /** For each endpoint in parallel, ingests count webhooks one after another; returns all ids. */
  static List<String> ingestInParallel(EdgeApi api, List<String> endpoints, int from, int count) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(endpoints.size());
    try {
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int e = 0; e < endpoints.size(); e++) {
        int endpoint = e;
        futures.add(pool.submit(() -> {
          List<String> ids = new ArrayList<>();
          for (int i = from; i < from + count; i++) {
            ids.add(api.ingestOk(endpoints.get(endpoint), body(endpoint, i)));
          }
          return ids;
        }));
      }
      List<String> ids = new ArrayList<>();
      for (Future<List<String>> f : futures) {
        ids.addAll(f.get());
      }
      return ids;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void serverErrorIsRetriedThenDelivered_clientErrorFailsAndCanBeReplayed() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides());
         TestDestination destination = TestDestination.start(request -> switch (request.path()) {
           case "/flaky" -> calls.incrementAndGet() <= 2 ? 500 : 200;
           case "/gone" -> 404;
           case "/stuck" -> 503;
           default -> 200;
         });
         TestHub hub = TestHub.connect(server.grpcPort(), HUB, SECRET)) {
      assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String flaky = api.createEndpoint("flaky", destination.url("/flaky"), HUB);
      String gone = api.createEndpoint("gone", destination.url("/gone"), HUB);
      String stuck = api.createEndpoint("stuck", destination.url("/stuck"), HUB);
      String blocked = api.ingestOk(stuck, "{\"s\":1}"); // keeps failing: must not hold up the other endpoints

      String retried = api.ingestOk(flaky, "{\"x\":1}");
      String after = api.ingestOk(flaky, "{\"x\":2}");
      JsonNode delivered = api.awaitStatus(retried, "delivered", TIMEOUT);
      assertEquals(3, delivered.path("attempts").asInt(), "500, 500, then 200");
      api.awaitStatus(after, "delivered", TIMEOUT);
      List<String> flakyBodies = destination.requests("/flaky").stream().map(TestDestination.Request::bodyText)
          .toList();
      assertEquals(List.of("{\"x\":1}", "{\"x\":1}", "{\"x\":1}", "{\"x\":2}"), flakyBodies,
          "the second waits until the first is delivered");
      List<Integer> attempts = hub.webhooks().stream().filter(w -> w.getId().equals(retried))
          .map(w -> w.getAttempt()).toList();
      assertEquals(List.of(1, 2, 3), attempts, "the envelope's attempt counts dispatches");

      String failed = api.ingestOk(gone, "{\"y\":1}");
      String next = api.ingestOk(gone, "{\"y\":2}");
      JsonNode failedStatus = api.awaitStatus(failed, "failed", TIMEOUT);
      assertEquals(404, failedStatus.path("last_status_code").asInt());
      // The failed one left the queue: the next one is dispatched (and fails too), the first is not retried.
      api.awaitStatus(next, "failed", TIMEOUT);
      assertEquals(1, destination.requests("/gone").stream().filter(r -> r.bodyText().equals("{\"y\":1}")).count());
      assertEquals(2, api.admin("GET", "/api/webhooks?endpoint=" + gone + "&status=failed", null).json()
          .path("webhooks").size());

      JsonNode stuckStatus = api.awaitStatus(blocked, "retrying", TIMEOUT);
      assertEquals(503, stuckStatus.path("last_status_code").asInt());
      assertTrue(stuckStatus.path("next_retry_at").isTextual());

      // Replay after the destination is fixed.
      destination.respondWith(request -> 200);
      assertEquals(409, api.admin("POST", "/api/webhooks/" + retried + "/replay", null).status(),
          "a delivered webhook is not replayable");
      assertEquals(404, api.admin("POST", "/api/webhooks/nope/replay", null).status());
      EdgeApi.Response replay = api.admin("POST", "/api/webhooks/" + failed + "/replay", null);
      assertEquals(202, replay.status(), replay.body());
      JsonNode replayed = api.awaitStatus(failed, "delivered", TIMEOUT);
      assertEquals(2, replayed.path("attempts").asInt());
    }
  }

  @Test
  void adminApiAndIngestErrors() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides())) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String valid = "{\"name\":\"n\",\"provider\":\"github\",\"secret\":\"s\",\"destination_url\":\"http://10.0.0.5/x\","
          + "\"hub_id\":\"home\"}";
      assertEquals(401, api.send("POST", "/api/endpoints", valid, Map.of()).status());
      assertEquals(401, api.send("GET", "/api/endpoints", null, Map.of("Authorization", "Bearer wrong")).status());
      assertEquals(401, api.send("GET", "/api/webhooks", null, Map.of()).status());
      assertEquals(401, api.send("GET", "/api/hubs", null, Map.of()).status());

      EdgeApi.Response malformed = api.admin("POST", "/api/endpoints", "{nope");
      assertEquals(400, malformed.status());
      assertEquals("malformed_json", malformed.json().path("error").asText());
      EdgeApi.Response missing = api.admin("POST", "/api/endpoints", "{\"name\":\"n\"}");
      assertEquals(400, missing.status());
      assertEquals("missing_field", missing.json().path("error").asText());
      // Every missing field is named, not just the first.
      assertEquals("Fields 'provider', 'destination_url', 'hub_id' are required",
          missing.json().path("message").asText());
      EdgeApi.Response oneMissing = api.admin("POST", "/api/endpoints", valid.replace("\"name\":\"n\",", ""));
      assertEquals("Field 'name' is required", oneMissing.json().path("message").asText());
      EdgeApi.Response provider = api.admin("POST", "/api/endpoints", valid.replace("github", "gitlab"));
      assertEquals(400, provider.status());
      assertEquals("unknown_provider", provider.json().path("error").asText());
      EdgeApi.Response hub = api.admin("POST", "/api/endpoints", valid.replace("\"home\"", "\"nohub\""));
      assertEquals(400, hub.status());
      assertEquals("unknown_hub", hub.json().path("error").asText());

      EdgeApi.Response created = api.admin("POST", "/api/endpoints", valid);
      assertEquals(201, created.status(), created.body());
      String id = created.json().path("id").asText();
      assertTrue(id.matches("[A-Za-z0-9_-]{22}"), id);
      assertEquals("github", created.json().path("provider").asText());
      assertTrue(created.json().path("has_secret").asBoolean());
      assertTrue(created.json().path("secret").isMissingNode(), "secrets are never echoed");
      assertEquals(200, api.admin("GET", "/api/endpoints/" + id, null).status());
      assertEquals(1, api.admin("GET", "/api/endpoints", null).json().path("endpoints").size());
      EdgeApi.Response updated = api.admin("PATCH", "/api/endpoints/" + id, "{\"name\":\"renamed\"}");
      assertEquals(200, updated.status(), updated.body());
      assertEquals("renamed", updated.json().path("name").asText());
      assertEquals("github", updated.json().path("provider").asText());
      assertEquals(404, api.admin("GET", "/api/endpoints/unknown", null).status());

      // Ingest: unknown endpoint, oversized body, unverified but accepted.
      assertEquals(404, api.ingest("unknown", "{}").status());
      assertEquals(413, api.ingest(id, "x".repeat(5000)).status());
      EdgeApi.Response ingested = api.ingest(id, "{\"a\":1}");
      assertEquals(200, ingested.status(), ingested.body());
      assertEquals("invalid", ingested.json().path("signature").asText(), "no X-Hub-Signature-256: unverified");
      String webhookId = ingested.json().path("id").asText();
      JsonNode row = api.awaitStatus(webhookId, "received", TIMEOUT);
      assertEquals(id, row.path("endpoint_id").asText());
      assertEquals("invalid", row.path("signature").asText());
      assertEquals(400, api.admin("GET", "/api/webhooks?status=bogus", null).status());
      assertEquals(404, api.admin("GET", "/api/webhooks/unknown", null).status());

      // The webhook is still queued (no hub): deleting would strand it, so that takes ?force=true.
      EdgeApi.Response refused = api.admin("DELETE", "/api/endpoints/" + id, null);
      assertEquals(409, refused.status(), refused.body());
      assertEquals("webhooks_queued", refused.json().path("error").asText());
      assertEquals(1, refused.json().path("queued").asInt());
      assertEquals(204, api.admin("DELETE", "/api/endpoints/" + id + "?force=true", null).status());
      assertEquals(404, api.ingest(id, "{}").status());
      assertEquals(404, api.admin("DELETE", "/api/endpoints/" + id, null).status());
    }
  }

  @Test
  void hubStreamOutlivesTheHttpRequestTimeout() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides().withValue("pekko.http.server.request-timeout",
             com.typesafe.config.ConfigValueFactory.fromAnyRef("1s")));
         TestDestination destination = TestDestination.start();
         TestHub hub = TestHub.connect(server.grpcPort(), HUB, SECRET)) {
      assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String endpoint = api.createEndpoint("late", destination.url("/late"), HUB);
      Thread.sleep(3000); // deliberately longer than request-timeout: the stream must stay open
      assertTrue(!hub.ended(), "the hub stream is still open");
      api.awaitStatus(api.ingestOk(endpoint, "{}"), "delivered", TIMEOUT);
    }
  }

  @Test
  void adminApiDisabledWithoutToken() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides().withValue("conduit.webhook.admin-token",
             com.typesafe.config.ConfigValueFactory.fromAnyRef("")))) {
      EdgeApi api = new EdgeApi(server.httpBase(), "");
      EdgeApi.Response response = api.send("GET", "/api/endpoints", null, Map.of("Authorization", "Bearer "));
      assertEquals(503, response.status());
      assertEquals("admin_disabled", response.json().path("error").asText());
    }
  }

  @Test
  void rejectUnverifiedWhenConfigured() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides().withValue("conduit.webhook.reject-unverified",
             com.typesafe.config.ConfigValueFactory.fromAnyRef(true)))) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String body = "{\"name\":\"n\",\"provider\":\"telegram\",\"secret\":\"tok\",\"destination_url\":\"http://h/x\","
          + "\"hub_id\":\"home\"}";
      String id = api.admin("POST", "/api/endpoints", body).json().path("id").asText();
      assertEquals(401, api.ingest(id, "{}").status());
      EdgeApi.Response ok = api.send("POST", "/h/" + id, "{}", Map.of("X-Telegram-Bot-Api-Secret-Token", "tok"));
      assertEquals(200, ok.status(), ok.body());
      assertEquals("verified", ok.json().path("signature").asText());
    }
  }

  @Test
  void hubHandshakeFailures() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides())) {
      long now = java.time.Instant.now().getEpochSecond();
      String good = dev.conduit.hub.auth.HubSignature.sign(HUB, now, SECRET);
      assertRefused(server, List.of(TestHub.connectRequest(HUB, now, flipLastHexDigit(good))), "invalid signature");
      assertRefused(server, List.of(TestHub.connectRequest(HUB, now, flipLastHexDigit(good).toUpperCase())),
          "invalid signature");
      long old = now - 301;
      assertRefused(server, List.of(TestHub.connectRequest(HUB, old, dev.conduit.hub.auth.HubSignature.sign(HUB, old,
          SECRET))), "timestamp outside allowed window");
      assertRefused(server, List.of(TestHub.connectRequest("stranger", now, good)), "unknown hub");
      assertRefused(server, List.of(dev.conduit.hub.grpc.StreamRequest.newBuilder()
              .setHeartbeat(dev.conduit.hub.grpc.Heartbeat.newBuilder().setTimestamp(now)).build()),
          "first message must be connect");
      // A good signature works once; the same signature again is a replay.
      try (TestHub first = TestHub.raw(server.grpcPort(), List.of(TestHub.connectRequest(HUB, now, good)))) {
        assertTrue(first.awaitConnectResponse(TIMEOUT).getSuccess());
        assertRefused(server, List.of(TestHub.connectRequest(HUB, now, good)), "signature already used");
        assertTrue(!first.ended(), "the refused replay did not disturb the live connection");
        // A second valid connection replaces the first, which is ended with a reason.
        long later = now + 1; // a fresh signature (the same second would be a replay)
        try (TestHub second = TestHub.raw(server.grpcPort(), List.of(TestHub.connectRequest(HUB, later,
            dev.conduit.hub.auth.HubSignature.sign(HUB, later, SECRET))))) {
          assertTrue(second.awaitConnectResponse(TIMEOUT).getSuccess());
          Throwable reason = first.awaitEnd(TIMEOUT);
          assertNotNull(reason, "the replaced stream ends with a status");
          assertTrue(reason.toString().contains("replaced"), reason.toString());
        }
      }
    }
  }

  private static void assertRefused(TestServer server, List<dev.conduit.hub.grpc.StreamRequest> first, String error)
      throws Exception {
    try (TestHub hub = TestHub.raw(server.grpcPort(), first)) {
      dev.conduit.hub.grpc.ConnectResponse response = hub.awaitConnectResponse(TIMEOUT);
      assertEquals(false, response.getSuccess());
      assertEquals(error, response.getError());
      // Then the call ends with the refusal's status, its text as the message (grpc-status/grpc-message trailers).
      io.grpc.Status status = io.grpc.Status.fromThrowable(hub.awaitEnd(TIMEOUT));
      assertEquals(dev.conduit.hub.RefusalCode.of(error), status.getCode(), status.toString());
      assertEquals(error, status.getDescription());
      assertEquals(1, hub.responses().size());
    }
  }

  /** A different signature of the same shape (the last hex digit changed): always invalid, whatever the digits. */
  private static String flipLastHexDigit(String hex) {
    char last = hex.charAt(hex.length() - 1);
    return hex.substring(0, hex.length() - 1) + (last == '0' ? '1' : '0');
  }
}
