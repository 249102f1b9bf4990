package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.server.Json;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.RawWebSocket;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Slow-consumer detection: a client whose queue (client-outbound-bytes) stays full for
 * slow-consumer-grace does not read, and its session is closed (the instance is told why, the client
 * gets the reason if it reads again) instead of growing the relay's heap; the instance's other session
 * goes on. A client that reads while a burst arrives only slows the burst down: it gets every frame, in order.
 */
class TunnelSlowConsumerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final int FRAME_BYTES = 48 * 1024;
  /** Far more than the client's queue and socket buffers can hold. */
  private static final int MAX_FRAMES = 4000;
  /** Payload of a large burst frame: 2,000 of them are many times client-outbound-bytes. */
  private static final int LARGE_FRAME_BYTES = 4096;
  /** Payload of a small burst frame: just its number. */
  private static final int SMALL_FRAME_BYTES = Integer.BYTES;

  /**
   * Regression: 300 relay_messages in one write to a client that reads all the time got about 23 frames
   * through, then the session was closed slow_consumer. Small frames arrive as one batch (the old
   * per-frame queue overflowed at once); large ones fill the client's byte budget many times over.
   */
  @Test
  void burstsOfRelayMessagesInOneWriteAllReachAReadingClientInOrder() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db);
         RawWebSocket instance = RawWebSocket.open(server.wsBase().resolve(SimulatedInstance.TUNNEL_PATH), 0, TIMEOUT);
         RelayConnection client = RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT)) {
      String id = UUID.randomUUID().toString();
      instance.send("{\"type\":\"register\",\"instance_id\":\"" + id + "\",\"public_key\":\""
          + Base64.getEncoder().encodeToString(KeyPair.generate().publicKey()) + "\"}");
      assertEquals("registered", Json.MAPPER.readTree(instance.readText()).path("type").asText());
      client.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
      String session = client.expect("connected", TIMEOUT).path("session_id").asText();
      assertEquals("connection", Json.MAPPER.readTree(instance.readText()).path("type").asText());

      int next = 0;
      int[][] bursts = {{300, SMALL_FRAME_BYTES}, {2_000, SMALL_FRAME_BYTES}, {2_000, LARGE_FRAME_BYTES}};
      for (int[] sizes : bursts) {
        int burst = sizes[0];
        List<String> frames = new ArrayList<>();
        for (int i = next; i < next + burst; i++) {
          frames.add("{\"type\":\"relay_message\",\"session_id\":\"" + session + "\",\"payload\":\""
              + Base64.getEncoder().encodeToString(numbered(i, sizes[1])) + "\"}");
        }
        instance.sendAll(frames);
        for (int i = next; i < next + burst; i++) {
          byte[] payload = Base64.getDecoder().decode(client.expect("message", TIMEOUT).path("payload").asText());
          assertEquals(i, ByteBuffer.wrap(payload).getInt(), "frame " + (i - next) + " of a burst of " + burst
              + " frames of " + sizes[1] + " bytes");
        }
        next += burst;
      }
      assertFalse(client.isClosed(), "the reading client's session is still open");
    }
  }

  /** A burst frame's payload of size bytes: its number, then padding. */
  private static byte[] numbered(int i, int size) {
    return ByteBuffer.allocate(size).putInt(i).array();
  }

  @Test
  void clientThatStopsReadingIsClosedAndOthersAreUnaffected() throws Exception {
    // A short grace keeps the test quick; close-timeout only bounds how long the closed client may take to read.
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.tunnel.slow-consumer-grace", "500ms",
             "conduit.tunnel.close-timeout", "60s")));
         RelayConnection instance = RelayConnection.open(server.wsBase().resolve("/relay/tunnel/websocket"), TIMEOUT)) {
      String id = UUID.randomUUID().toString();
      KeyPair key = KeyPair.generate();
      instance.send("{\"type\":\"register\",\"instance_id\":\"" + id + "\",\"public_key\":\""
          + Base64.getEncoder().encodeToString(key.publicKey()) + "\"}");
      instance.expect("registered", TIMEOUT);

      RelayConnection slow = RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT);
      RelayConnection healthy = RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT);
      slow.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
      String slowSession = slow.expect("connected", TIMEOUT).path("session_id").asText();
      instance.expect("connection", TIMEOUT);
      healthy.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
      String healthySession = healthy.expect("connected", TIMEOUT).path("session_id").asText();
      instance.expect("connection", TIMEOUT);

      slow.pauseReading();
      String payload = Base64.getEncoder().encodeToString(new byte[FRAME_BYTES]);
      String frame = "{\"type\":\"relay_message\",\"session_id\":\"" + slowSession + "\",\"payload\":\"" + payload + "\"}";
      JsonNode closed = null;
      int sent = 0;
      while (closed == null && sent < MAX_FRAMES) {
        instance.send(frame);
        sent++;
        String next = instance.receiveText(Duration.ZERO);
        if (next != null) {
          closed = Json.MAPPER.readTree(next);
        }
      }
      if (closed == null) {
        closed = instance.receive(TIMEOUT);
      }
      assertTrue(closed != null, "the instance is told the slow session ended (sent " + sent + " frames)");
      assertEquals("session_closed", closed.path("type").asText());
      assertEquals(slowSession, closed.path("session_id").asText());
      assertEquals("slow_consumer", closed.path("reason").asText());
      // Once it reads again it drains what its TCP buffers held, then gets the reason and a close frame with it.
      slow.resumeReading();
      JsonNode last = slow.receive(TIMEOUT);
      while (last != null && "message".equals(last.path("type").asText())) {
        last = slow.receive(TIMEOUT);
      }
      assertTrue(last != null, "a last frame");
      assertEquals("error", last.path("type").asText(), last.toString());
      assertEquals("slow_consumer", last.path("code").asText());
      assertEquals(new RelayConnection.CloseFrame(1008, "slow_consumer"),
          slow.closeFrame().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS));

      // The other session of the same instance still relays both ways.
      healthy.send("{\"type\":\"message\",\"payload\":\"aGk=\"}");
      JsonNode relayed = instance.receive(TIMEOUT);
      // Frames the test sent for the slow session after it was closed are refused one by one.
      while (relayed != null && "unknown_session".equals(relayed.path("code").asText())) {
        relayed = instance.receive(TIMEOUT);
      }
      assertEquals("relay_message", relayed.path("type").asText());
      assertEquals(healthySession, relayed.path("session_id").asText());
      instance.send("{\"type\":\"relay_message\",\"session_id\":\"" + healthySession + "\",\"payload\":\"b2s=\"}");
      assertArrayEquals("ok".getBytes(StandardCharsets.UTF_8),
          Base64.getDecoder().decode(healthy.expect("message", TIMEOUT).path("payload").asText()));
      healthy.close();
      slow.close();
    }
  }
}
