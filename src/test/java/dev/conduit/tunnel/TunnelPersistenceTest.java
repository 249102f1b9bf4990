package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Key pins and claim codes live in the journal: they survive a restart, on H2 and on PostgreSQL. */
class TunnelPersistenceTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final Duration PING = Duration.ofSeconds(30);

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
        // The pin survived: another key for the same id is refused...
        try (RelayConnection hijacker = RelayConnection.open(restarted.wsBase().resolve(SimulatedInstance.TUNNEL_PATH), TIMEOUT)) {
          hijacker.send("{\"type\":\"register\",\"instance_id\":\"" + instanceId + "\",\"public_key\":\""
              + Base64.getEncoder().encodeToString(KeyPair.generate().publicKey()) + "\"}");
          JsonNode error = hijacker.expect("error", TIMEOUT);
          assertEquals("key_mismatch", error.path("code").asText());
        }
        // ... the owner's key is accepted, and the claims are as they were.
        try (SimulatedInstance instance = SimulatedInstance.start(restarted.wsBase(), instanceId, owner, PING, TIMEOUT)) {
          try (RelayConnection client = RelayConnection.open(restarted.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT)) {
            client.send("{\"type\":\"connect\",\"claim_code\":\"" + usedCode + "\"}");
            assertEquals("Claim code has already been used", client.expect("error", TIMEOUT).path("message").asText());
          }
          try (SimulatedClient client = SimulatedClient.connectWithClaim(restarted.wsBase(), unusedCode, TIMEOUT)) {
            assertEquals("alice", client.connected().path("user_id").asText());
            assertEquals(instanceId, client.connected().path("instance_id").asText());
          }
        }
      }
    }
  }
}
