package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.hub.HubConnection;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM to a relay on the embedded H2 journal while webhooks are being ingested: a clean coordinated
 * shutdown (the database closed after the last write, no phase timing out), exit status 0, and after a
 * restart every webhook that got a 2xx is there.
 */
class GracefulShutdownTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int ENDPOINTS = 4;
  /** Ingests acknowledged before the SIGTERM is sent: the signal lands in the middle of ingest. */
  private static final int BEFORE_SIGTERM = 40;
  /** Most webhooks a sender sends, so that one page of the webhooks API lists an endpoint's all. */
  private static final int PER_ENDPOINT = 500;

  @Test
  void sigtermDuringIngestOnH2_cleanShutdownExitZero_everyAcknowledgedWebhookSurvives() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2)) {
      ChildServer child = ChildServer.start(db, Map.of(
          "CONDUIT_HUBS", WebhookRelayEndToEndTest.HUB + ":" + WebhookRelayEndToEndTest.SECRET,
          "CONDUIT_ADMIN_TOKEN", WebhookRelayEndToEndTest.TOKEN));
      List<String> endpoints = new ArrayList<>();
      Set<String> acknowledged = Collections.synchronizedSet(new HashSet<>());
      int exitStatus;
      TestHub hub = null;
      try {
        EdgeApi api = new EdgeApi(child.httpBase(), WebhookRelayEndToEndTest.TOKEN);
        for (int e = 0; e < ENDPOINTS; e++) {
          endpoints.add(api.createEndpoint("ep" + e, "http://127.0.0.1:9/unused", WebhookRelayEndToEndTest.HUB));
        }
        ExecutorService senders = Executors.newFixedThreadPool(ENDPOINTS);
        AtomicInteger answered = new AtomicInteger();
        for (String endpoint : endpoints) {
          senders.submit(() -> {
            for (int n = 0; n < PER_ENDPOINT; n++) {
              try {
                EdgeApi.Response response = api.ingest(endpoint, "{\"n\":" + n + "}");
                if (response.status() == 200) {
                  acknowledged.add(response.json().path("id").asText());
                }
                answered.incrementAndGet();
              } catch (Exception gone) {
                return; // the relay stopped listening
              }
            }
          });
        }
        // A hub stays connected through the stop: its stream is ended (UNAVAILABLE) when the relay stops,
        // instead of holding the gRPC port's drain until the phase times out.
        hub = TestHub.connect(child.grpcPort(), WebhookRelayEndToEndTest.HUB, WebhookRelayEndToEndTest.SECRET);
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess(), "the hub is connected");
        EdgeApi.await(() -> answered.get() >= BEFORE_SIGTERM, TIMEOUT, () -> BEFORE_SIGTERM + " ingests answered");
        exitStatus = child.terminate(TIMEOUT);
        Throwable end = hub.awaitEnd(TIMEOUT);
        assertTrue(end instanceof io.grpc.StatusRuntimeException status
            && status.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
            && HubConnection.STOPPING_DESCRIPTION.equals(status.getStatus().getDescription()),
            "the hub's stream ends with UNAVAILABLE \"" + HubConnection.STOPPING_DESCRIPTION + "\": " + end);
        senders.shutdown();
        assertTrue(senders.awaitTermination(TIMEOUT.toSeconds(), TimeUnit.SECONDS), "senders see the relay gone");
      } finally {
        if (hub != null) {
          hub.close();
        }
        child.kill();
      }

      String log = Files.readString(child.log());
      assertFalse(log.contains("Database is already closed"), log);
      assertFalse(Pattern.compile("Coordinated shutdown phase \\[[a-z-]+\\] timed out").matcher(log).find(), log);
      assertEquals(0, exitStatus, log);
      assertTrue(acknowledged.size() >= BEFORE_SIGTERM / 2, "acknowledged " + acknowledged.size());

      try (TestServer restarted = TestServer.start(db, WebhookRelayEndToEndTest.overrides())) {
        EdgeApi api = new EdgeApi(restarted.httpBase(), WebhookRelayEndToEndTest.TOKEN);
        Set<String> stored = EdgeApi.awaitValue(() -> storedIds(api, endpoints), ids -> ids.containsAll(acknowledged),
            TIMEOUT, "every acknowledged webhook after the restart (" + acknowledged.size() + ")");
        assertTrue(stored.containsAll(acknowledged));
      }
    }
  }

  private static Set<String> storedIds(EdgeApi api, List<String> endpoints) {
    Set<String> ids = new HashSet<>();
    try {
      for (String endpoint : endpoints) {
        api.admin("GET", "/api/webhooks?limit=1000&endpoint=" + endpoint, null).json().path("webhooks")
            .forEach(w -> ids.add(w.path("id").asText()));
      }
    } catch (Exception notYet) {
      return Set.of();
    }
    return ids;
  }
}
