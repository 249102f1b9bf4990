package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.client.HubClient;
import dev.conduit.hub.client.HubClientSettings;
import dev.conduit.hub.client.HubClientStats;
import dev.conduit.hub.client.RunningHubClient;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Two real hub clients started with the same hub id and secret against a real edge: each replaces the
 * other, and each replacement in a row makes the replaced client wait longer before taking the stream back.
 */
class HubReplacementTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final String TOKEN = "t";
  private static final String HUB = "home";
  private static final String SECRET = "s3cret";
  private static final Duration MIN = Duration.ofMillis(50);
  private static final Duration MAX = Duration.ofMillis(400);
  /** Replacements each client must see: enough for the delay to double up to MAX and stay there. */
  private static final int REPLACEMENTS = 6;

  @Test
  void twoClientsWithOneHubId_backOffWithGrowth_warn_andTheEdgeCountsReplacements() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.list = new java.util.concurrent.CopyOnWriteArrayList<>(); // appended by other threads while read
    Logger clientLogger = (Logger) LoggerFactory.getLogger(HubClient.class);
    logs.start();
    clientLogger.addAppender(logs);
    ActorSystem<Void> hubSystem = ActorSystem.create(Behaviors.empty(), "twin-hubs");
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer edge = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", HUB + ":" + SECRET, "conduit.webhook.admin-token", TOKEN)))) {
      Path secretFile = db.dataDir().resolve("hub.secret");
      Files.writeString(secretFile, SECRET);
      HubClientSettings settings = settings(edge.grpcPort(), secretFile);
      HubClientStats first;
      HubClientStats second;
      try (RunningHubClient a = HubClient.start(hubSystem, settings);
           RunningHubClient b = HubClient.start(hubSystem, settings)) {
        first = a.stats();
        second = b.stats();
        EdgeApi.await(() -> first.replacements() >= REPLACEMENTS && second.replacements() >= REPLACEMENTS, TIMEOUT,
            () -> "both clients replaced " + REPLACEMENTS + " times: " + first + " / " + second);
      }
      for (HubClientStats stats : List.of(first, second)) {
        // Both clients sign connects with the same secret: when they pick the same second the edge refuses
        // the second as a replay, a plain failed attempt with its own (also growing) delay. Only the delays
        // chosen after replacements are this test's subject.
        List<Duration> delays = stats.recentReconnects().stream()
            .filter(HubClientStats.Reconnect::afterReplacement).map(HubClientStats.Reconnect::delay).toList();
        assertEquals(expectedDelays(delays.size()), delays, "the backoff grows per replacement in a row");
        assertEquals(stats.replacements(), delays.size());
      }

      List<String> warnings = logs.list.stream()
          .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().startsWith("hub replaced "))
          .map(ILoggingEvent::getFormattedMessage).toList();
      assertEquals(first.replacements() + second.replacements(), warnings.size(), String.join("\n", warnings));
      assertTrue(warnings.get(0).contains("hub=" + HUB)
          && warnings.get(0).contains("newer connection with this hub id"), warnings.get(0));

      JsonNode hubs = new EdgeApi(edge.httpBase(), TOKEN).admin("GET", "/api/hubs", null).json().path("hubs");
      long counted = hubs.get(0).path("replacements").asLong();
      // Each replacement the edge counted was seen by the replaced client, except one per client that may
      // still have been on its way when the clients stopped.
      long seen = first.replacements() + second.replacements();
      assertTrue(counted >= seen && counted <= seen + 2, "edge counted " + counted + ", clients saw " + seen);
    } finally {
      clientLogger.detachAppender(logs);
      hubSystem.terminate();
    }
  }

  /** MIN doubling per replacement in a row, capped at MAX (jitter 0). */
  private static List<Duration> expectedDelays(int count) {
    List<Duration> delays = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      delays.add(Duration.ofMillis(Math.min(MAX.toMillis(), MIN.toMillis() << i)));
    }
    return delays;
  }

  private static HubClientSettings settings(int port, Path secretFile) {
    Map<String, Object> values = new HashMap<>(Map.of(
        "edge-url", "http://127.0.0.1:" + port, "hub-id", HUB, "secret-file", secretFile.toString(),
        "backoff-min", MIN.toMillis() + "ms", "backoff-max", MAX.toMillis() + "ms", "backoff-jitter", 0));
    Map<String, Object> config = new HashMap<>();
    values.forEach((key, value) -> config.put(HubClientSettings.PATH + "." + key, value));
    return HubClientSettings.from(ConfigFactory.parseMap(config).withFallback(ConfigFactory.load()));
  }
}
