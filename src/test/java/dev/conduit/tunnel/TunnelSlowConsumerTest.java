package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A client that stops reading: the relay buffers a bounded number of frames for it, then closes that
 * session (the instance is told why) instead of growing its heap; the instance's other session goes on.
 */
class TunnelSlowConsumerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final int FRAME_BYTES = 48 * 1024;
  /** Far more than the client's queue and socket buffers can hold. */
  private static final int MAX_FRAMES = 4000;

  @Test
  void clientThatStopsReadingIsClosedAndOthersAreUnaffected() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db);
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
          closed = dev.conduit.server.Json.MAPPER.readTree(next);
        }
      }
      if (closed == null) {
        closed = instance.receive(TIMEOUT);
      }
      assertTrue(closed != null, "the instance is told the slow session ended (sent " + sent + " frames)");
      assertEquals("session_closed", closed.path("type").asText());
      assertEquals(slowSession, closed.path("session_id").asText());
      assertEquals("slow_consumer", closed.path("reason").asText());
      // Once it reads again it drains what its TCP buffers held, then finds its socket closed.
      slow.resumeReading();
      assertTrue(slow.closed().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS) > 0);

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
