package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Key pins and claim codes live in the journal: they survive a restart and a kill -9, on H2 and on PostgreSQL. */
class TunnelPersistenceTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final Duration PING = Duration.ofSeconds(30);
  private static final int PINS_BEFORE_KILL = 25;
  /** Many registrations from one test address: the per-IP rate limit is not what this test is about. */
  private static final Map<String, String> UNLIMITED_ENV = Map.of(
      "CONDUIT_TUNNEL_RATE_LIMIT_BURST", "10000", "CONDUIT_TUNNEL_RATE_LIMIT_PER_SECOND", "10000");
  private static final Config UNLIMITED_CONFIG = ConfigFactory.parseMap(Map.of(
      "conduit.tunnel.rate-limit.burst", 10000, "conduit.tunnel.rate-limit.per-second", 10000));

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void pinsAndClaimsSurviveRestart(TestDatabase.Kind kind) throws Exception {
    String instanceId = UUID.randomUUID().toString();
    KeyPair owner = KeyPair.generate();
    String unusedCode;
    String usedCode;
    try (TestDatabase db = TestDatabase.create(kind)) {
      try (TestServer server = TestServer.start(db);
           SimulatedInstance instance = SimulatedInstance.start(server.wsBase(), instanceId, owner, PING, TIMEOUT)) {
        unusedCode = instance.createClaim("alice", TIMEOUT).path("code").asText();
        usedCode = instance.createClaim("bob", TIMEOUT).path("code").asText();
        SimulatedClient.connectWithClaim(server.wsBase(), usedCode, TIMEOUT).close();
      }

      try (TestServer restarted = TestServer.start(db)) {
        assertPinsAndClaimsAsTheyWere(restarted.wsBase(), instanceId, owner, usedCode, unusedCode);
      }
    }
  }

  /**
   * The same after a kill -9 in the middle of registrations: every pin and claim the relay confirmed
   * (registered, claim_created, connected) is there after a restart on the same database.
   */
  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void pinsAndClaimsSurviveKillMinus9(TestDatabase.Kind kind) throws Exception {
    String instanceId = UUID.randomUUID().toString();
    KeyPair owner = KeyPair.generate();
    Map<String, byte[]> confirmedPins = new ConcurrentHashMap<>();
    String unusedCode;
    String usedCode;
    try (TestDatabase db = TestDatabase.create(kind)) {
      try (ChildServer child = ChildServer.start(db, UNLIMITED_ENV)) {
        try (SimulatedInstance instance = SimulatedInstance.start(child.wsBase(), instanceId, owner, PING, TIMEOUT)) {
          unusedCode = instance.createClaim("alice", TIMEOUT).path("code").asText();
          usedCode = instance.createClaim("bob", TIMEOUT).path("code").asText();
          SimulatedClient.connectWithClaim(child.wsBase(), usedCode, TIMEOUT).close();
          // Other instances keep registering while the process is killed: kill -9 lands mid-write.
          Thread registering = new Thread(() -> registerUntilFailure(child.wsBase(), confirmedPins));
          registering.start();
          EdgeApi.await(() -> confirmedPins.size() >= PINS_BEFORE_KILL, TIMEOUT, () -> "registrations");
          child.kill();
          registering.join(TIMEOUT.toMillis());
        }
      }

      try (TestServer restarted = TestServer.start(db, UNLIMITED_CONFIG)) {
        for (String id : Set.copyOf(confirmedPins.keySet())) {
          assertHijackRefused(restarted.wsBase(), id);
        }
        assertPinsAndClaimsAsTheyWere(restarted.wsBase(), instanceId, owner, usedCode, unusedCode);
      }
    }
  }

  /** Registers fresh instances one after another, recording each confirmed one, until the relay is gone. */
  private static void registerUntilFailure(URI wsBase, Map<String, byte[]> confirmed) {
    while (true) {
      String id = UUID.randomUUID().toString();
      byte[] key = KeyPair.generate().publicKey();
      try (RelayConnection other = RelayConnection.open(wsBase.resolve(SimulatedInstance.TUNNEL_PATH), TIMEOUT)) {
        other.send(register(id, key));
        other.expect("registered", TIMEOUT);
        confirmed.put(id, key);
      } catch (Exception relayGone) {
        return;
      }
    }
  }

  private static void assertPinsAndClaimsAsTheyWere(URI wsBase, String instanceId, KeyPair owner, String usedCode,
                                                    String unusedCode) throws Exception {
    // The pin survived: another key for the same id is refused...
    assertHijackRefused(wsBase, instanceId);
    // ... the owner's key is accepted, and the claims are as they were.
    try (SimulatedInstance instance = SimulatedInstance.start(wsBase, instanceId, owner, PING, TIMEOUT)) {
      try (RelayConnection client = RelayConnection.open(wsBase.resolve(SimulatedClient.CLIENT_PATH), TIMEOUT)) {
        client.send("{\"type\":\"connect\",\"claim_code\":\"" + usedCode + "\"}");
        assertEquals("Claim code has already been used", client.expect("error", TIMEOUT).path("message").asText());
      }
      try (SimulatedClient client = SimulatedClient.connectWithClaim(wsBase, unusedCode, TIMEOUT)) {
        assertEquals("alice", client.connected().path("user_id").asText());
        assertEquals(instanceId, client.connected().path("instance_id").asText());
      }
    }
  }

  private static void assertHijackRefused(URI wsBase, String instanceId) throws Exception {
    try (RelayConnection hijacker = RelayConnection.open(wsBase.resolve(SimulatedInstance.TUNNEL_PATH), TIMEOUT)) {
      hijacker.send(register(instanceId, KeyPair.generate().publicKey()));
      JsonNode error = hijacker.expect("error", TIMEOUT);
      assertEquals("key_mismatch", error.path("code").asText(), "pin of " + instanceId);
    }
  }

  private static String register(String instanceId, byte[] key) {
    return "{\"type\":\"register\",\"instance_id\":\"" + instanceId + "\",\"public_key\":\""
        + Base64.getEncoder().encodeToString(key) + "\"}";
  }
}
