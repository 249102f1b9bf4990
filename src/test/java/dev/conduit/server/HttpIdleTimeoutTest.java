package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The public HTTP/1.1 port's idle timeout (conduit.http.idle-timeout), which HttpServer applies itself
 * since it binds with Tcp + pekko-http's serverLayer: a kept-alive connection with no bytes either way is
 * closed once it runs out, while the request-head timeout is set far beyond the hang guard.
 */
class HttpIdleTimeoutTest {
  /** Hang guard only: the server must close long before. */
  private static final Duration HANG_GUARD = Duration.ofSeconds(30);

  @Test
  void anIdleKeptAliveConnectionIsClosed() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.hub.grpc-port", ChildServer.freePort(),
             "conduit.http.request-header-timeout", "10m",
             // pekko's own key: ConfigFactory.load() has already resolved ${conduit.http.idle-timeout} in it,
             // so an override of conduit.http.idle-timeout here would not reach it.
             "pekko.http.server.idle-timeout", "500ms")));
         RawHttp http = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD)) {
      assertEquals(200, http.get("/healthz").status());
      assertTrue(http.closedWithoutReply(), "closed by the idle timeout");
    }
  }
}
