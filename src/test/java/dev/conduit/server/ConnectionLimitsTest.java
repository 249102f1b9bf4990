package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Per-address connection caps and the request-head timeout over real sockets. Clients bind to
 * 127.0.0.1 (the address under test) or 127.0.0.2 ("someone else"), both loopback on Linux.
 */
class ConnectionLimitsTest {
  private static final Duration HANG_GUARD = Duration.ofSeconds(30);
  private static final int CAP = 3;
  private static final String HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  private static final byte[] EMPTY_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};
  private static final String[] WEBSOCKET_UPGRADE = {"Upgrade: websocket", "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"};

  @Test
  void theCapCountsEveryKindOfConnectionOnEveryPortPerAddress() throws Exception {
    int grpcPort = ChildServer.freePort();
    List<RawHttp> open = new ArrayList<>();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.connections.max-per-address", CAP,
             // Only 127.0.0.3 is a health source here, so 127.0.0.1 and .2 are ordinary clients.
             "conduit.connections.health-sources", "127.0.0.3",
             "conduit.hub.hubs", "home:s3cret",
             "conduit.hub.grpc-port", grpcPort)))) {
      int http = server.port();
      // Two keep-alive HTTP connections (each answered, so each is admitted) and one upgraded WebSocket.
      for (int i = 0; i < CAP - 1; i++) {
        RawHttp connection = RawHttp.connect("127.0.0.1", http, HANG_GUARD);
        open.add(connection);
        assertEquals(200, connection.get("/healthz").status());
      }
      RawHttp webSocket = RawHttp.connect("127.0.0.1", http, HANG_GUARD);
      open.add(webSocket);
      assertEquals(101, webSocket.get("/relay/client", WEBSOCKET_UPGRADE).status());

      // The next connection from 127.0.0.1 is closed unanswered, whatever it is and on whichever port.
      try (RawHttp plain = RawHttp.connect("127.0.0.1", http, HANG_GUARD)) {
        assertTrue(plain.sendClosedWithoutReply(RawHttp.latin1("GET /healthz HTTP/1.1\r\nHost: conduit\r\n\r\n")),
            "plain HTTP over the cap is closed");
      }
      try (RawHttp upgrade = RawHttp.connect("127.0.0.1", http, HANG_GUARD)) {
        assertTrue(upgrade.sendClosedWithoutReply(RawHttp.latin1("GET /relay/client HTTP/1.1\r\nHost: conduit\r\n"
            + String.join("\r\n", WEBSOCKET_UPGRADE) + "\r\n\r\n")), "a WebSocket upgrade over the cap is closed");
      }
      try (RawHttp grpc = RawHttp.connect("127.0.0.1", grpcPort, HANG_GUARD)) {
        assertTrue(grpc.sendClosedWithoutReply(RawHttp.latin1(HTTP2_PREFACE), EMPTY_SETTINGS),
            "gRPC (HTTP/2) over the cap is closed");
      }

      // Another address is unaffected: /healthz answers, and the gRPC port speaks HTTP/2 to it.
      try (RawHttp other = RawHttp.connect("127.0.0.2", http, HANG_GUARD)) {
        RawHttp.Response health = other.get("/healthz");
        assertEquals(200, health.status());
        assertEquals("{\"status\":\"ok\"}", health.body());
      }
      try (RawHttp grpc = RawHttp.connect("127.0.0.2", grpcPort, HANG_GUARD)) {
        grpc.write(HTTP2_PREFACE);
        grpc.write(EMPTY_SETTINGS);
        assertEquals(4, serverFrameType(grpc), "the server's first HTTP/2 frame is SETTINGS");
      }

      // Closing a plain connection frees its place; the upgraded WebSocket still holds its own.
      open.remove(0).close();
      RawHttp again = awaitAdmitted(http);
      open.add(again);
      try (RawHttp plain = RawHttp.connect("127.0.0.1", http, HANG_GUARD)) {
        assertTrue(plain.sendClosedWithoutReply(RawHttp.latin1("GET /healthz HTTP/1.1\r\nHost: conduit\r\n\r\n")),
            "still at the cap: the WebSocket counts after its upgrade");
      }
    } finally {
      for (RawHttp connection : open) {
        connection.close();
      }
    }
  }

  /**
   * A TLS client pointed at a plaintext port (gRPC, then HTTP): its handshake fails at once rather than
   * hanging, and the relay logs it at INFO with the address, the port and the reason.
   */
  @Test
  void aTlsHandshakeOnAPlaintextPortIsLoggedAndClosed() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         ChildServer server = ChildServer.start(db, Map.of("CONDUIT_HUBS", "home:s3cret"))) {
      assertHandshakeRefused(server.grpcPort());
      String grpcLine = "ip=127.0.0.1 port=" + server.grpcPort() + " reason=\"TLS handshake on a plaintext port\"";
      assertTrue(awaitLog(server, grpcLine).contains(grpcLine), "gRPC port: " + grpcLine);
      assertHandshakeRefused(server.port());
      String httpLine = "ip=127.0.0.1 port=" + server.port() + " reason=\"TLS handshake on a plaintext port\"";
      assertTrue(awaitLog(server, httpLine).contains(httpLine), "HTTP port: " + httpLine);
      // The plaintext ports still serve plaintext.
      try (RawHttp plain = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD)) {
        assertEquals(200, plain.get("/healthz").status());
      }
      try (RawHttp grpc = RawHttp.connect("127.0.0.1", server.grpcPort(), HANG_GUARD)) {
        grpc.write(HTTP2_PREFACE);
        grpc.write(EMPTY_SETTINGS);
        assertEquals(4, serverFrameType(grpc), "the server's first HTTP/2 frame is SETTINGS");
      }
    }
  }

  /** A JDK TLS client's handshake with port ends in an error, not a timeout. */
  private static void assertHandshakeRefused(int port) throws Exception {
    try (javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) javax.net.ssl.SSLContext.getDefault().getSocketFactory()
        .createSocket("127.0.0.1", port)) {
      tls.setSoTimeout((int) HANG_GUARD.toMillis());
      IOException failed = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, tls::startHandshake);
      assertTrue(!(failed instanceof java.net.SocketTimeoutException), "the handshake hung: " + failed);
    }
  }

  private static String awaitLog(ChildServer server, String wanted) throws Exception {
    long deadline = System.nanoTime() + HANG_GUARD.toNanos();
    String log = java.nio.file.Files.readString(server.log());
    while (!log.contains(wanted) && System.nanoTime() < deadline) {
      Thread.sleep(50); // another process's log file: nothing to wait on
      log = java.nio.file.Files.readString(server.log());
    }
    return log;
  }

  @Test
  void theTotalCapSparesHealthSources() throws Exception {
    List<RawHttp> open = new ArrayList<>();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.connections.max-total", 2,
             "conduit.connections.health-sources", "127.0.0.3")))) {
      int http = server.port();
      for (String source : List.of("127.0.0.1", "127.0.0.2")) {
        RawHttp connection = RawHttp.connect(source, http, HANG_GUARD);
        open.add(connection);
        assertEquals(200, connection.get("/healthz").status());
      }
      try (RawHttp third = RawHttp.connect("127.0.0.4", http, HANG_GUARD)) {
        assertTrue(third.sendClosedWithoutReply(RawHttp.latin1("GET /healthz HTTP/1.1\r\nHost: conduit\r\n\r\n")),
            "over the total cap");
      }
      try (RawHttp health = RawHttp.connect("127.0.0.3", http, HANG_GUARD)) {
        assertEquals(200, health.get("/healthz").status(), "a health source is answered at the cap");
      }
    } finally {
      for (RawHttp connection : open) {
        connection.close();
      }
    }
  }

  @Test
  void behindATrustedProxyWebSocketClientsAreCountedByForwardedAddress() throws Exception {
    List<RawHttp> open = new ArrayList<>();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.connections.max-per-address", 2,
             "conduit.tunnel.trusted-proxies", "127.0.0.1",
             "conduit.hub.grpc-port", ChildServer.freePort())))) {
      // The proxy (127.0.0.1) itself has no per-address cap: three connections carry two clients.
      for (int i = 0; i < 2; i++) {
        RawHttp socket = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD);
        open.add(socket);
        assertEquals(101, socket.get("/relay/client", forwardedUpgrade("203.0.113.5")).status());
      }
      RawHttp other = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD);
      open.add(other);
      assertEquals(101, other.get("/relay/client", forwardedUpgrade("198.51.100.9")).status());

      try (RawHttp third = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD)) {
        assertEquals(101, third.get("/relay/client", forwardedUpgrade("203.0.113.5")).status());
        assertEquals("{\"type\":\"error\",\"code\":\"too_many_connections\","
            + "\"message\":\"Too many connections from this address\"}", textFrame(third));
        assertEquals(0x88, third.read(), "then a close frame");
      }
    } finally {
      for (RawHttp connection : open) {
        connection.close();
      }
    }
  }

  private static String[] forwardedUpgrade(String client) {
    List<String> headers = new ArrayList<>(List.of(WEBSOCKET_UPGRADE));
    headers.add("X-Forwarded-For: " + client);
    return headers.toArray(String[]::new);
  }

  /** One unmasked text frame from the server (payload under 126 bytes). */
  private static String textFrame(RawHttp connection) throws IOException {
    assertEquals(0x81, connection.read(), "a final text frame");
    int length = connection.read();
    byte[] payload = new byte[length];
    for (int i = 0; i < length; i++) {
      payload[i] = (byte) connection.read();
    }
    return new String(payload, java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void aTrickledRequestHeadIsClosedAfterTheHeaderTimeout() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             // The header timeout applies where the public port speaks HTTP/1.1 only: gRPC elsewhere.
             "conduit.hub.grpc-port", ChildServer.freePort(),
             "conduit.http.request-header-timeout", "300ms",
             // Far beyond the hang guard: only the header timeout can close the connections below.
             "conduit.http.idle-timeout", "10m")))) {
      int http = server.port();
      try (RawHttp webSocket = RawHttp.connect("127.0.0.1", http, HANG_GUARD);
           RawHttp slowHeader = RawHttp.connect("127.0.0.1", http, HANG_GUARD);
           RawHttp slowUpgrade = RawHttp.connect("127.0.0.1", http, HANG_GUARD)) {
        assertEquals(101, webSocket.get("/relay/client", WEBSOCKET_UPGRADE).status());
        assertTrue(trickledUntilClosed(slowHeader, "GET /healthz HTTP/1.1\r\nHost: conduit\r\nX-Slow: "),
            "a trickled header is closed");
        assertTrue(trickledUntilClosed(slowUpgrade, "GET /relay/client HTTP/1.1\r\nHost: conduit\r\n"
            + String.join("\r\n", WEBSOCKET_UPGRADE) + "\r\nX-Slow: "), "a half-sent upgrade is closed");
        // The upgraded WebSocket, opened before both and idle since, is not subject to the header timeout.
        webSocket.write(new byte[] {(byte) 0x89, (byte) 0x80, 0, 0, 0, 0}); // ping, masked, empty
        assertEquals(0x8A, webSocket.read(), "pong");
      }
    }
  }

  /** Sends head, then one more byte every 50 ms (which keeps any idle timer alive) until the server closes. */
  private static boolean trickledUntilClosed(RawHttp connection, String head) throws Exception {
    connection.write(head);
    Thread trickle = new Thread(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          connection.write("a");
          Thread.sleep(50);
        }
      } catch (IOException | InterruptedException stopped) {
        // closed by the server (or the test is over)
      }
    });
    trickle.start();
    try {
      return connection.closedWithoutReply();
    } finally {
      trickle.interrupt();
      trickle.join(HANG_GUARD.toMillis());
    }
  }

  private static int serverFrameType(RawHttp connection) throws IOException {
    byte[] header = new byte[9];
    for (int i = 0; i < header.length; i++) {
      int b = connection.read();
      if (b < 0) {
        throw new IOException("closed after " + i + " bytes of a frame header");
      }
      header[i] = (byte) b;
    }
    return header[3];
  }

  /** A connection from 127.0.0.1 once the server has noticed a close (a new one is refused until then). */
  private static RawHttp awaitAdmitted(int port) throws Exception {
    long deadline = System.nanoTime() + HANG_GUARD.toNanos();
    while (true) {
      RawHttp connection = RawHttp.connect("127.0.0.1", port, HANG_GUARD);
      try {
        connection.write("GET /healthz HTTP/1.1\r\nHost: conduit\r\n\r\n");
        assertEquals(200, connection.readResponse().status());
        return connection;
      } catch (IOException refused) {
        connection.close();
        if (System.nanoTime() > deadline) {
          throw new AssertionError("no connection admitted after a close", refused);
        }
      }
    }
  }
}
