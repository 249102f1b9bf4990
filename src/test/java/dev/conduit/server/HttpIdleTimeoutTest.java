package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.ChildServer;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.RawWebSocket;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The public HTTP/1.1 port's idle timeout (conduit.http.idle-timeout), which HttpServer applies itself
 * since it binds with Tcp + pekko-http's serverLayer: a kept-alive connection with no bytes either way is
 * closed once it runs out, while the request-head timeout is set far beyond the hang guard. An upgraded
 * WebSocket is left to the tunnel's own timers (instance-timeout, client-idle-timeout).
 */
class HttpIdleTimeoutTest {
  /** Hang guard only: the server must close long before. */
  private static final Duration HANG_GUARD = Duration.ofSeconds(30);
  private static final String IDLE_TIMEOUT = "500ms";
  /** Four idle timeouts: a socket the idle timeout applied to would be gone by then. */
  private static final Duration SILENCE = Duration.ofSeconds(2);

  private static TestServer start(TestDatabase db) throws Exception {
    return TestServer.start(db, ConfigFactory.parseMap(Map.of(
        "conduit.hub.grpc-port", ChildServer.freePort(),
        "conduit.http.request-header-timeout", "10m",
        // pekko's own key: ConfigFactory.load() has already resolved ${conduit.http.idle-timeout} in it,
        // so an override of conduit.http.idle-timeout here would not reach it.
        "pekko.http.server.idle-timeout", IDLE_TIMEOUT)));
  }

  @Test
  void anIdleKeptAliveConnectionIsClosed() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = start(db);
         RawHttp http = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD)) {
      assertEquals(200, http.get("/healthz").status());
      assertTrue(http.closedWithoutReply(), "closed by the idle timeout");
    }
  }

  @Test
  void anUpgradedWebSocketOutlivesTheIdleTimeout() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = start(db);
         RawWebSocket client = RawWebSocket.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), 0,
             HANG_GUARD)) {
      Thread.sleep(SILENCE.toMillis());
      client.send("{\"type\":\"ping\"}");
      assertEquals("{\"type\":\"pong\"}", client.readText());
    }
  }
}
