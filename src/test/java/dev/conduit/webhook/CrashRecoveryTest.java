package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Crash safety with a real {@code kill -9}: an edge runs in a child JVM while webhooks are ingested
 * concurrently and a hub is delivering; the JVM is killed mid-stream; a new edge on the same database
 * must deliver every webhook that got a 2xx, in order per endpoint (at least once: redelivery of a
 * webhook whose ack was not yet journaled is allowed, the hub de-duplicates by id).
 */
class CrashRecoveryTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int ENDPOINTS = 3;
  private static final int PER_ENDPOINT = 40;

  private record Accepted(int endpoint, int n, String id) {}

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void everyAcknowledgedWebhookSurvivesKillMinus9(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.create(kind);
         TestDestination destination = TestDestination.start()) {
      ChildServer child = ChildServer.start(db, Map.of(
          "CONDUIT_HUBS", WebhookRelayEndToEndTest.HUB + ":" + WebhookRelayEndToEndTest.SECRET,
          "CONDUIT_ADMIN_TOKEN", WebhookRelayEndToEndTest.TOKEN));
      int port = child.port();
      List<Accepted> accepted = Collections.synchronizedList(new ArrayList<>());
      List<String> endpoints = new ArrayList<>();
      try {
        EdgeApi api = new EdgeApi(URI.create("http://127.0.0.1:" + port), WebhookRelayEndToEndTest.TOKEN);
        EdgeApi.await(() -> healthy(api), TIMEOUT, () -> "child edge to start (log: " + child.log() + ")");
        for (int e = 0; e < ENDPOINTS; e++) {
          endpoints.add(api.createEndpoint("ep" + e, destination.url("/ep" + e), WebhookRelayEndToEndTest.HUB));
        }
        try (TestHub hub = TestHub.connect(child.grpcPort(), WebhookRelayEndToEndTest.HUB, WebhookRelayEndToEndTest.SECRET)) {
          assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
          ExecutorService pool = Executors.newFixedThreadPool(ENDPOINTS);
          AtomicInteger total = new AtomicInteger();
          for (int e = 0; e < ENDPOINTS; e++) {
            int endpoint = e;
            pool.submit(() -> {
              for (int n = 0; n < PER_ENDPOINT; n++) {
                try {
                  EdgeApi.Response response = api.ingest(endpoints.get(endpoint),
                      WebhookRelayEndToEndTest.body(endpoint, n));
                  if (response.status() / 100 == 2) {
                    accepted.add(new Accepted(endpoint, n, response.json().path("id").asText()));
                  }
                } catch (Exception dead) {
                  return;
                }
                total.incrementAndGet();
              }
            });
          }
          // Kill in the middle of ingest and delivery.
          EdgeApi.await(() -> total.get() >= ENDPOINTS * PER_ENDPOINT / 2, TIMEOUT, () -> "half the ingests");
          child.kill();
          pool.shutdown();
          assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        }
      } finally {
        child.kill();
      }
      assertTrue(accepted.size() >= ENDPOINTS * PER_ENDPOINT / 2, "accepted " + accepted.size());
      assertTrue(accepted.size() < ENDPOINTS * PER_ENDPOINT, "killed in the middle of ingest");

      try (TestServer server = TestServer.start(db, WebhookRelayEndToEndTest.overrides());
           TestHub hub = TestHub.connect(server.grpcPort(), WebhookRelayEndToEndTest.HUB,
               WebhookRelayEndToEndTest.SECRET)) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        EdgeApi api = new EdgeApi(server.httpBase(), WebhookRelayEndToEndTest.TOKEN);
        for (int e = 0; e < ENDPOINTS; e++) {
          String endpointId = endpoints.get(e);
          int endpoint = e;
          Set<String> mustBeDelivered = new java.util.HashSet<>(accepted.stream().filter(a -> a.endpoint() == endpoint)
              .map(Accepted::id).toList());
          EdgeApi.awaitValue(() -> {
            try {
              Set<String> delivered = new java.util.HashSet<>();
              api.admin("GET", "/api/webhooks?status=delivered&limit=1000&endpoint=" + endpointId, null).json()
                  .path("webhooks").forEach(w -> delivered.add(w.path("id").asText()));
              return delivered;
            } catch (Exception failure) {
              return Set.<String>of();
            }
          }, delivered -> delivered.containsAll(mustBeDelivered), TIMEOUT, "endpoint " + e + " all delivered");
        }
        for (int e = 0; e < ENDPOINTS; e++) {
          int endpoint = e;
          // First deliveries per endpoint, duplicates (redelivery after the crash) removed.
          Set<String> firstSeen = new LinkedHashSet<>();
          destination.requests("/ep" + e).forEach(r -> firstSeen.add(r.bodyText()));
          List<String> delivered = new ArrayList<>(firstSeen);
          List<String> mustHave = accepted.stream().filter(a -> a.endpoint() == endpoint)
              .sorted((x, y) -> Integer.compare(x.n(), y.n()))
              .map(a -> WebhookRelayEndToEndTest.body(endpoint, a.n())).toList();
          assertTrue(delivered.containsAll(mustHave), "endpoint " + e + ": every 2xx webhook delivered");
          List<String> sorted = new ArrayList<>(delivered);
          sorted.sort((x, y) -> Integer.compare(index(x), index(y)));
          assertEquals(sorted, delivered, "endpoint " + e + ": delivered in ingest order");
        }
      }
    }
  }

  private static int index(String body) {
    return Integer.parseInt(body.replaceAll(".*\"n\":(\\d+).*", "$1"));
  }

  private static boolean healthy(EdgeApi api) {
    try {
      return api.send("GET", "/healthz", null, Map.of()).status() == 200;
    } catch (Exception e) {
      return false;
    }
  }
}
