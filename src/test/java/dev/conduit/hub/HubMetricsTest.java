package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.MetricsScrape;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Hub metrics on a real relay with real gRPC hubs: connected hubs, a replacement (a second stream with
 * the same hub id) and an eviction (a hub silent for stale-timeout), read from GET /metrics.
 */
class HubMetricsTest {
  private static final String HUB = "home";
  private static final String SECRET = "home-secret";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void connectedReplacedAndEvictedHubsAreCounted() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", HUB + ":" + SECRET + ",other:other-secret",
             // The edge never heartbeats, so a hub (which only answers heartbeats) is silent: evicted after 10 s
             // (the margin lets the second stream of "home" replace the first before that, even under load).
             "conduit.hub.heartbeat-interval", "1h",
             "conduit.hub.stale-timeout", "10s")))) {
      MetricsScrape before = scrape(server);
      assertEquals(0.0, before.value("conduit_hubs_connected"));
      assertEquals(0.0, before.value("conduit_hub_replacements_total"));
      assertEquals(0.0, before.value("conduit_hub_evictions_total"));
      long now = Instant.now().getEpochSecond();
      // One after the other: a stream replaced right after it authenticated may end (ABORTED) before its
      // connect_response got out (ending the response queue drops what it still buffers), so the test
      // waits for the first one's before opening the second.
      try (TestHub first = TestHub.connect(server.grpcPort(), HUB, SECRET, now);
           TestHub other = TestHub.connect(server.grpcPort(), "other", "other-secret", now)) {
        assertTrue(first.awaitConnectResponse(TIMEOUT).getSuccess());
        assertTrue(other.awaitConnectResponse(TIMEOUT).getSuccess());
        TestHub second = TestHub.connect(server.grpcPort(), HUB, SECRET, now + 1);
        try (second) {
          assertTrue(second.awaitConnectResponse(TIMEOUT).getSuccess());
          EdgeApi.await(first::ended, TIMEOUT, () -> "the first stream of hub " + HUB + " replaced");
          MetricsScrape after = EdgeApi.awaitValue(() -> scrape(server),
              m -> m.value("conduit_hub_evictions_total") == 2, TIMEOUT, "both live hubs evicted as stale");
          assertEquals(1.0, after.value("conduit_hub_replacements_total"));
          assertEquals(0.0, after.value("conduit_hubs_connected"), after.toString());
        }
      }
    }
  }

  private static MetricsScrape scrape(TestServer server) {
    try {
      return MetricsScrape.of(server.httpBase(), null);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
