package dev.conduit.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * A real relay in a child JVM, its stdout (the shipped logback.xml) captured: values with CR/LF sent
 * where they get logged, without authentication (a tunnel frame's type, a gRPC hub_id) and with it
 * (an endpoint name, an ACK id), never start a log line of their own and appear escaped; an admin
 * token containing '!', '#' and '?' (which pekko-http cannot parse) never reaches the log.
 */
class LogForgingTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String TOKEN = "tok!#?en-s3cret";
  private static final String FORGED = "FORGED INFO line";

  @Test
  void peerValuesCannotForgeLogLinesAndTheAdminTokenIsNeverLogged() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         ChildServer server = ChildServer.start(db, Map.of("CONDUIT_ADMIN_TOKEN", TOKEN, "CONDUIT_HUBS", "home:s3cret"))) {
      // A tunnel frame's type (no authentication): unknown_type, logged with the type.
      WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder()
          .buildAsync(server.wsBase().resolve("/relay/tunnel"), new WebSocket.Listener() {}).get(30, TimeUnit.SECONDS);
      socket.sendText("{\"type\":\"x\\n" + FORGED + " type\"}", true).get(30, TimeUnit.SECONDS);
      // A gRPC hub_id (no authentication): refused as unknown, logged with the id.
      try (TestHub stranger = TestHub.connect(server.grpcPort(), "x\n" + FORGED + " hub", "nope")) {
        assertFalse(stranger.awaitConnectResponse(TIMEOUT).getSuccess());
      }
      // An ACK id of an authenticated hub: logged as unknown.
      try (TestHub hub = TestHub.connect(server.grpcPort(), "home", "s3cret")) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        hub.send(StreamRequest.newBuilder().setAck(DeliveryAck.newBuilder().setWebhookId("w\n" + FORGED + " ack")
            .setSuccess(true)).build());
        // An endpoint name (admin): logged when created. Its answer comes after the ack was read.
        EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
        EdgeApi.Response created = api.admin("POST", "/api/endpoints", "{\"name\":\"n\\r\\n" + FORGED
            + " name\",\"provider\":\"generic\",\"secret\":\"s\",\"destination_url\":\"http://127.0.0.1:9/\",\"hub_id\":\"home\"}");
        assertEquals(201, created.status(), created.body());
      }
      String escapedLf = "\\n" + FORGED;
      for (String where : List.of("type", "hub", "ack", "name")) {
        String log = awaitLog(server, text -> text.contains(escapedLf + " " + where));
        assertTrue(log.contains(escapedLf + " " + where), where + " escaped in:\n" + log);
      }
      String log = Files.readString(server.log());
      assertTrue(log.contains("\\r\\n" + FORGED + " name"), log);
      for (String line : log.split("\n", -1)) {
        assertFalse(line.startsWith(FORGED), "forged line: " + line);
        assertFalse(line.contains("\r"), "carriage return in: " + line);
      }
      assertFalse(log.contains("tok!#?en"), "admin token in the log:\n" + log);
      assertFalse(log.contains("s3cret"), "secret in the log:\n" + log);
      socket.abort();
    }
  }

  /** The child's log once it satisfies done; the log is written asynchronously by another process. */
  private static String awaitLog(ChildServer server, Predicate<String> done) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    String log = Files.readString(server.log());
    while (!done.test(log) && System.nanoTime() < deadline) {
      Thread.sleep(50); // polling another process's file: there is nothing to wait on
      log = Files.readString(server.log());
    }
    return log;
  }
}
