package dev.conduit.tunnel;

import static dev.conduit.tunnel.TunnelHarness.key;
import static dev.conduit.tunnel.TunnelHarness.register;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Registry, instance connection and client session actors under the testkit, timers on manual time. */
class TunnelActorsTest {
  private TunnelHarness harness;

  @BeforeEach
  void start() {
    harness = new TunnelHarness(TunnelHarness.settings(), 100);
  }

  @AfterEach
  void stop() {
    harness.close();
  }

  private TunnelHarness.Socket registeredInstance(String id, String key) throws Exception {
    TunnelHarness.Socket instance = harness.instanceSocket();
    instance.sendAndAwaitAck(register(id, key));
    assertEquals("1.0", instance.expectFrame("registered").path("relay_protocol").asText());
    return instance;
  }

  private record Paired(TunnelHarness.Socket client, String sessionId) {}

  /** A client connected to instanceId by id; both sides have seen the new session. */
  private Paired pairedClient(TunnelHarness.Socket instance, String instanceId) throws Exception {
    TunnelHarness.Socket client = harness.clientSocket();
    client.sendAndAwaitAck("{\"type\":\"connect\",\"instance_id\":\"" + instanceId + "\"}");
    String sessionId = client.expectFrame("connected").path("session_id").asText();
    assertEquals(sessionId, instance.expectFrame("connection").path("session_id").asText());
    return new Paired(client, sessionId);
  }

  /** The socket's outbound side ended there, with a close frame of this status and reason. */
  private static void assertClosedWith(TunnelHarness.Socket socket, int status, String reason) throws Exception {
    SocketClose close = socket.closedWith();
    assertEquals(reason, close == null ? null : close.reason);
    assertEquals(status, close.status);
  }

  @Test
  void instanceSilentForSixtySecondsIsEvicted() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-1", key(1));
    harness.time.timePasses(Duration.ofSeconds(59));
    instance.expectNoFrame();
    JsonNode error = instance.expectFrameAfter(Duration.ofSeconds(2));
    assertEquals("timeout", error.path("code").asText());
    instance.expectStopped();
    assertClosedWith(instance, 1008, "timeout");
  }

  @Test
  void pingAndPongKeepAnInstanceAlive() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-2", key(2));
    for (int i = 0; i < 3; i++) {
      harness.time.timePasses(Duration.ofSeconds(50));
      instance.sendAndAwaitAck("{\"type\":\"ping\"}");
      instance.expectFrame("pong");
    }
    harness.time.timePasses(Duration.ofSeconds(50));
    instance.sendAndAwaitAck("{\"type\":\"pong\"}");
    harness.time.timePasses(Duration.ofSeconds(50));
    instance.expectNoFrame();
    harness.time.timePasses(Duration.ofSeconds(11));
    assertEquals("timeout", instance.expectFrame("error").path("code").asText());
    instance.expectStopped();
  }

  @Test
  void connectionThatNeverRegistersIsClosedAfterSixtySeconds() throws Exception {
    TunnelHarness.Socket instance = harness.instanceSocket();
    harness.time.timePasses(Duration.ofSeconds(60));
    assertEquals("timeout", instance.expectFrame("error").path("code").asText());
    instance.expectStopped();
  }

  @Test
  void idleClientIsClosedAfterThreeHundredSecondsAndTheInstanceIsTold() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-3", key(3));
    Paired paired = pairedClient(instance, "inst-3");
    TunnelHarness.Socket client = paired.client();
    String sessionId = paired.sessionId();

    // Client traffic resets the idle timer; the instance keeps pinging to stay registered.
    keepInstanceAliveFor(instance, 299);
    client.sendAndAwaitAck("{\"type\":\"ping\"}");
    client.expectFrame("pong");
    keepInstanceAliveFor(instance, 299);
    client.expectNoFrame();
    harness.time.timePasses(Duration.ofSeconds(1));
    assertEquals("idle_timeout", client.expectFrame("error").path("code").asText());
    client.expectStopped();
    assertClosedWith(client, 1008, "idle_timeout");
    JsonNode closed = instance.expectFrame("session_closed");
    assertEquals(sessionId, closed.path("session_id").asText());
    assertEquals("idle_timeout", closed.path("reason").asText());
  }

  /** Lets seconds pass on manual time while the instance pings every 30 s, as real instances do. */
  private void keepInstanceAliveFor(TunnelHarness.Socket instance, int seconds) throws Exception {
    int pingInterval = 30;
    for (int passed = 0; passed < seconds; passed += pingInterval) {
      harness.time.timePasses(Duration.ofSeconds(Math.min(pingInterval, seconds - passed)));
      instance.sendAndAwaitAck("{\"type\":\"ping\"}");
      instance.expectFrame("pong");
    }
  }

  @Test
  void sameKeyReplacesTheLiveConnectionDifferentKeyIsRefused() throws Exception {
    String id = UUID.randomUUID().toString();
    TunnelHarness.Socket first = registeredInstance(id, key(4));

    TunnelHarness.Socket hijacker = harness.instanceSocket();
    hijacker.sendAndAwaitAck(register(id, key(5)));
    assertEquals("key_mismatch", hijacker.expectFrame("error").path("code").asText());
    first.expectNoFrame();

    // Without a possession proof the newcomer takes the id only from a connection that does not answer a ping.
    TunnelHarness.Socket second = harness.instanceSocket();
    second.sendAndAwaitAck(register(id, key(4)));
    first.expectFrame("ping");
    second.expectNoFrame();
    time(harness.settings.livenessProbeTimeout());
    assertEquals("1.0", second.expectFrame("registered").path("relay_protocol").asText());
    assertEquals("replaced", first.expectFrame("error").path("code").asText());
    first.expectStopped();
    assertClosedWith(first, 1000, "replaced");

    // Clients now reach the second connection only.
    pairedClient(second, id);
  }

  /** An unproven register for an id whose connection answers the probe is refused; the live one stays. */
  @Test
  void unprovenNewcomerIsRefusedWhileTheLiveConnectionAnswers() throws Exception {
    String id = UUID.randomUUID().toString();
    TunnelHarness.Socket first = registeredInstance(id, key(7));

    TunnelHarness.Socket newcomer = harness.instanceSocket();
    newcomer.sendAndAwaitAck(register(id, key(7)));
    first.expectFrame("ping");
    first.sendAndAwaitAck("{\"type\":\"pong\"}");
    JsonNode refusal = newcomer.expectFrame("error");
    assertEquals("already_connected", refusal.path("code").asText());
    // However long it waits now, the decision was made: nothing replaces the live connection.
    time(harness.settings.livenessProbeTimeout().multipliedBy(2));
    newcomer.expectNoFrame();
    first.expectNoFrame();
    pairedClient(first, id);
  }

  private void time(Duration step) {
    harness.time.timePasses(step);
  }

  @Test
  void framesFlowBothWaysAndEachSideLearnsWhenTheOtherLeaves() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-6", key(6));
    TunnelHarness.Socket client = harness.clientSocket();
    client.sendAndAwaitAck("{\"type\":\"connect\",\"instance_id\":\"inst-6\",\"client_public_key\":\"" + key(9) + "\"}");
    JsonNode connected = client.expectFrame("connected");
    assertEquals(key(6), connected.path("public_key").asText());
    String sessionId = connected.path("session_id").asText();
    JsonNode connection = instance.expectFrame("connection");
    assertEquals(key(9), connection.path("client_public_key").asText());

    client.sendAndAwaitAck("{\"type\":\"message\",\"payload\":\"aGVsbG8=\"}");
    JsonNode relayed = instance.expectFrame("relay_message");
    assertEquals(sessionId, relayed.path("session_id").asText());
    assertEquals("aGVsbG8=", relayed.path("payload").asText());

    instance.sendAndAwaitAck("{\"type\":\"relay_message\",\"session_id\":\"" + sessionId + "\",\"payload\":\"d29ybGQ=\"}");
    assertEquals("d29ybGQ=", client.expectFrame("message").path("payload").asText());

    client.send("{\"type\":\"close\"}");
    client.expectStopped();
    JsonNode closed = instance.expectFrame("session_closed");
    assertEquals("client_closed", closed.path("reason").asText());

    // A relay_message for the closed session is refused, not silently dropped.
    instance.sendAndAwaitAck("{\"type\":\"relay_message\",\"session_id\":\"" + sessionId + "\",\"payload\":\"eA==\"}");
    assertEquals("unknown_session", instance.expectFrame("error").path("code").asText());

    // When the instance goes, its clients are told and closed.
    TunnelHarness.Socket other = pairedClient(instance, "inst-6").client();
    instance.actor.tell(new SocketEvent.Closed());
    JsonNode offline = other.expectFrame("error");
    assertEquals("instance_offline", offline.path("code").asText());
    assertEquals("Instance is offline", offline.path("message").asText());
    other.expectStopped();
    assertClosedWith(other, 1000, "instance_offline");
  }

  @Test
  void sessionsPerInstanceAreLimited() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-7", key(7));
    for (int i = 0; i < harness.settings.maxSessionsPerInstance(); i++) {
      TunnelHarness.Socket client = harness.clientSocket();
      client.sendAndAwaitAck("{\"type\":\"connect\",\"instance_id\":\"inst-7\"}");
      client.expectFrame("connected");
    }
    TunnelHarness.Socket oneTooMany = harness.clientSocket();
    oneTooMany.sendAndAwaitAck("{\"type\":\"connect\",\"instance_id\":\"inst-7\"}");
    assertEquals("too_many_sessions", oneTooMany.expectFrame("error").path("code").asText());
  }

  @Test
  void claimCodeIsSingleUseAndNormalized() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-8", key(8));
    instance.sendAndAwaitAck("{\"type\":\"create_claim\",\"user_id\":\"u1\",\"request_id\":42}");
    JsonNode created = instance.expectFrame("claim_created");
    assertEquals(42, created.path("request_id").asInt());
    String code = created.path("code").asText();
    assertEquals(8, code.length());
    code.chars().forEach(c -> assertFalse(ClaimCodes.ALPHABET.indexOf(c) < 0, "alphabet"));

    String typed = code.substring(0, 4).toLowerCase() + "- " + code.substring(4).toLowerCase();
    TunnelHarness.Socket client = harness.clientSocket();
    client.sendAndAwaitAck("{\"type\":\"connect\",\"claim_code\":\"" + typed + "\"}");
    JsonNode connected = client.expectFrame("connected");
    assertEquals("u1", connected.path("user_id").asText());
    assertEquals("inst-8", connected.path("instance_id").asText());

    TunnelHarness.Socket second = harness.clientSocket();
    second.sendAndAwaitAck("{\"type\":\"connect\",\"claim_code\":\"" + code + "\"}");
    assertEquals("Claim code has already been used", second.expectFrame("error").path("message").asText());
  }

  @Test
  void closeAllTellsEverySocketToReconnect() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-9", key(9));
    TunnelHarness.Socket client = pairedClient(instance, "inst-9").client();
    TunnelHarness.Socket unregistered = harness.instanceSocket();

    var done = harness.testKit.<org.apache.pekko.Done>createTestProbe();
    harness.registry.tell(new TunnelRegistry.CloseAll(done.ref()));
    done.expectMessage(org.apache.pekko.Done.getInstance());
    for (TunnelHarness.Socket socket : java.util.List.of(instance, client, unregistered)) {
      JsonNode frame = socket.expectFrame();
      if (socket == instance && "session_closed".equals(frame.path("type").asText())) {
        frame = socket.expectFrame(); // its client may have gone first
      }
      assertEquals("shutting_down", frame.path("code").asText(), frame.toString());
      socket.expectStopped();
      assertClosedWith(socket, 1001, "shutting_down");
    }
  }

  @Test
  void clientGoneBeforeItWasPairedStillEndsTheSession() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-10", key(10));
    TunnelHarness.Socket client = harness.clientSocket();
    client.send("{\"type\":\"connect\",\"instance_id\":\"inst-10\"}");
    client.actor.tell(new SocketEvent.Closed());
    client.expectStopped();
    String sessionId = instance.expectFrame("connection").path("session_id").asText();
    JsonNode closed = instance.expectFrame("session_closed");
    assertEquals(sessionId, closed.path("session_id").asText());
    instance.expectNoFrame();
  }

  @Test
  void claimCodeOfAClientGoneBeforePairingIsGivenBack() throws Exception {
    TunnelHarness.Socket instance = registeredInstance("inst-11", key(11));
    instance.sendAndAwaitAck("{\"type\":\"create_claim\",\"user_id\":\"u\"}");
    String code = instance.expectFrame("claim_created").path("code").asText();

    // Both frames are in the session's mailbox before the claim's answer can be: it stops unpaired.
    TunnelHarness.Socket quitter = harness.clientSocket();
    quitter.send("{\"type\":\"connect\",\"claim_code\":\"" + code + "\"}");
    quitter.actor.tell(new SocketEvent.Closed());
    quitter.expectStopped();

    TunnelHarness.Socket client = harness.clientSocket();
    client.sendAndAwaitAck("{\"type\":\"connect\",\"claim_code\":\"" + code + "\"}");
    assertEquals("u", client.expectFrame("connected").path("user_id").asText(), "the code was given back");
  }
}
