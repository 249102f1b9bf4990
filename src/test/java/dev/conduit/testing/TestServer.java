package dev.conduit.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.ConduitServer;
import java.net.URI;
import java.util.Map;

/** A real relay on an ephemeral port over a test database, for end-to-end tests. */
public final class TestServer implements AutoCloseable {
  private final ConduitServer server;

  private TestServer(ConduitServer server) {
    this.server = server;
  }

  /**
   * Starts Conduit on 127.0.0.1 with ephemeral ports (HTTP, and gRPC on its own port as by default);
   * overrides win over the database's settings.
   */
  public static TestServer start(TestDatabase database, Config overrides) throws Exception {
    Config config = overrides
        .withFallback(ConfigFactory.parseMap(Map.of("conduit.http.host", "127.0.0.1", "conduit.http.port", 0,
            "conduit.hub.grpc-port", 0, "conduit.shutdown-deadline", "1s")))
        .withFallback(database.config());
    return new TestServer(ConduitServer.start(config));
  }

  public static TestServer start(TestDatabase database) throws Exception {
    return start(database, ConfigFactory.empty());
  }

  public int port() {
    return server.port();
  }

  /** The port of the hub stream (gRPC). */
  public int grpcPort() {
    return server.grpcPort();
  }

  /** ws://127.0.0.1:port */
  public URI wsBase() {
    return URI.create("ws://127.0.0.1:" + port());
  }

  /** http://127.0.0.1:port */
  public URI httpBase() {
    return URI.create("http://127.0.0.1:" + port());
  }

  public ConduitServer server() {
    return server;
  }

  @Override
  public void close() throws Exception {
    server.close();
  }

  /** Closes the server, then its database, either of which may be null (a start that failed half way). */
  public static void close(TestServer server, TestDatabase database) throws Exception {
    if (server != null) {
      server.close();
    }
    if (database != null) {
      database.close();
    }
  }
}
