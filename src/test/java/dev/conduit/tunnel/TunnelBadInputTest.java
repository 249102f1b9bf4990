package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input over real WebSockets against a real relay: each gets its exact error frame, the
 * connection that sent it keeps working where the protocol allows, and a well-behaved encrypted
 * session beside it is unaffected.
 */
class TunnelBadInputTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final int MAX_FRAME = 64 * 1024;

  private static TestDatabase db;
  private static TestServer server;
  private static SimulatedInstance goodInstance;
  private static SimulatedClient goodClient;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
        "conduit.tunnel.max-frame-bytes", MAX_FRAME,
        "conduit.tunnel.rate-limit.burst", 1000)));
    goodInstance = SimulatedInstance.start(server.wsBase(), UUID.randomUUID().toString(), KeyPair.generate(),
        Duration.ofSeconds(30), TIMEOUT);
    goodClient = SimulatedClient.connectToInstance(server.wsBase(), goodInstance.instanceId(), TIMEOUT);
  }

  @AfterAll
  static void stop() throws Exception {
    // The session beside all the bad input still works.
    byte[] data = "still here".getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(data, goodClient.echo(data));
    goodClient.close();
    goodInstance.close();
    server.close();
    db.close();
  }

  private RelayConnection instanceSocket() throws Exception {
    return RelayConnection.open(server.wsBase().resolve(SimulatedInstance.TUNNEL_PATH), TIMEOUT);
  }

  private RelayConnection clientSocket() throws Exception {
    return RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT);
  }

  private static JsonNode error(RelayConnection socket) throws Exception {
    return socket.expect("error", TIMEOUT);
  }

  @Test
  void malformedFramesGetErrorsAndTheSocketStaysUsable() throws Exception {
    try (RelayConnection socket = clientSocket()) {
      socket.send("{not json");
      assertEquals("invalid_json", error(socket).path("code").asText());
      socket.send("{\"type\":\"warp\"}");
      assertEquals("Unknown message type: warp", error(socket).path("message").asText());
      socket.send("{\"type\":\"message\",\"payload\":\"@@@@\"}");
      assertEquals("invalid_base64", error(socket).path("code").asText());
      socket.send("{\"type\":\"message\",\"payload\":\"aGk=\"}");
      assertEquals("not_connected", error(socket).path("code").asText());
      socket.sendBinary("{\"type\":\"ping\"}".getBytes(StandardCharsets.UTF_8));
      socket.expect("pong", TIMEOUT);
    }
  }

  @Test
  void oversizedFrameIsRefusedAndTheNextFrameIsServed() throws Exception {
    try (RelayConnection socket = instanceSocket()) {
      String huge = "{\"type\":\"ping\",\"pad\":\"" + "x".repeat(MAX_FRAME) + "\"}";
      socket.send(huge);
      JsonNode error = error(socket);
      assertEquals("frame_too_large", error.path("code").asText());
      assertEquals("Frame exceeds " + MAX_FRAME + " bytes", error.path("message").asText());
      socket.send("{\"type\":\"ping\"}");
      socket.expect("pong", TIMEOUT);
    }
  }

  @Test
  void badKeysAndVersionsAreRefused() throws Exception {
    try (RelayConnection socket = instanceSocket()) {
      for (int length : new int[] {31, 33}) {
        String key = java.util.Base64.getEncoder().encodeToString(new byte[length]);
        socket.send("{\"type\":\"register\",\"instance_id\":\"x\",\"public_key\":\"" + key + "\"}");
        assertEquals("{\"type\":\"error\",\"message\":\"Registration failed\"}", error(socket).toString());
      }
      socket.send("{\"type\":\"register\",\"instance_id\":\"x\",\"public_key\":\"" + goodInstance.publicKeyBase64()
          + "\",\"protocol_versions\":{\"relay_protocol\":[\"2.0\"]}}");
      JsonNode error = error(socket);
      assertEquals("version_incompatible", error.path("code").asText());
      assertEquals("[\"1.0\",\"1.1\"]", error.path("supported_versions").toString());
      socket.send("{\"type\":\"create_claim\",\"user_id\":\"u\"}");
      assertEquals("Not registered", error(socket).path("message").asText());
    }
  }

  @Test
  void hijackAttemptIsRefusedAndTheOwnerKeepsItsClients() throws Exception {
    String otherKey = java.util.Base64.getEncoder().encodeToString(KeyPair.generate().publicKey());
    try (RelayConnection hijacker = instanceSocket()) {
      hijacker.send("{\"type\":\"register\",\"instance_id\":\"" + goodInstance.instanceId() + "\",\"public_key\":\""
          + otherKey + "\"}");
      assertEquals("key_mismatch", error(hijacker).path("code").asText());
    }
    byte[] data = "owner still serves".getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(data, goodClient.echo(data));
  }

  @Test
  void unknownInstanceAndBadClaimCodes() throws Exception {
    try (RelayConnection socket = clientSocket()) {
      socket.send("{\"type\":\"connect\",\"instance_id\":\"" + UUID.randomUUID() + "\"}");
      assertEquals("{\"type\":\"error\",\"message\":\"Instance not found\"}", error(socket).toString());
      socket.send("{\"type\":\"connect\",\"claim_code\":\"ZZZZ-ZZZZ\"}");
      assertEquals("{\"type\":\"error\",\"message\":\"Invalid claim code\"}", error(socket).toString());
    }
  }

  @Test
  void offlineInstanceIsReportedAsOffline() throws Exception {
    String id = UUID.randomUUID().toString();
    SimulatedInstance instance = SimulatedInstance.start(server.wsBase(), id, KeyPair.generate(),
        Duration.ofSeconds(30), TIMEOUT);
    instance.close();
    JsonNode reply = null;
    // The relay learns of the closed socket asynchronously: until then a connect may still succeed.
    for (int attempt = 0; attempt < 50; attempt++) {
      try (RelayConnection socket = clientSocket()) {
        socket.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
        reply = socket.receive(TIMEOUT);
        if (reply != null && "error".equals(reply.path("type").asText())) {
          break;
        }
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    assertEquals("{\"type\":\"error\",\"message\":\"Instance is offline\"}", String.valueOf(reply));
  }

  @Test
  void expiredClaimCodeIsRefused() throws Exception {
    goodInstance.connection().send("{\"type\":\"create_claim\",\"user_id\":\"u\",\"ttl_seconds\":1,\"request_id\":\"exp\"}");
    JsonNode created = null;
    for (int i = 0; i < 20 && created == null; i++) {
      JsonNode event = goodInstance.events().poll(1, TimeUnit.SECONDS);
      if (event != null && "exp".equals(event.path("request_id").asText())) {
        created = event;
      }
    }
    assertTrue(created != null, "claim_created");
    Instant expiresAt = Instant.parse(created.path("expires_at").asText());
    // Wait out the code's 1 s lifetime (the relay and this test share the machine's clock).
    while (!Instant.now().isAfter(expiresAt)) {
      TimeUnit.MILLISECONDS.sleep(50);
    }
    try (RelayConnection socket = clientSocket()) {
      socket.send("{\"type\":\"connect\",\"claim_code\":\"" + created.path("code").asText() + "\"}");
      assertEquals("{\"type\":\"error\",\"message\":\"Claim code has expired\"}", error(socket).toString());
    }
  }
}
