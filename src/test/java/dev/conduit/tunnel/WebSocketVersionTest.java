package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RFC 6455 §4.2.2: a handshake with a version the server does not speak is answered with an error and a
 * Sec-WebSocket-Version header listing the versions it does (13), on every tunnel endpoint; raw socket.
 */
class WebSocketVersionTest {
  private static TestDatabase db;
  private static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(db);
  }

  @AfterAll
  static void stop() throws Exception {
    TestServer.close(server, db);
  }
  @ParameterizedTest
  @ValueSource(strings = {"/relay/tunnel", "/relay/tunnel/websocket", "/relay/client", "/relay/client/websocket"})
  void anUnsupportedVersionIsAnsweredWithTheSupportedOne(String path) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(30_000); // hang guard
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      String status = in.readLine();
      List<String> headers = new ArrayList<>();
      for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
        headers.add(line.toLowerCase(java.util.Locale.ROOT));
      }
      assertEquals("HTTP/1.1 400 Bad Request", status);
      assertTrue(headers.contains("sec-websocket-version: 13"), headers.toString());
    }
  }
}
