package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A simulated instance and client run a real Noise IK handshake through the relay, over real
 * WebSockets, and exchange encrypted data both ways: the plaintext arrives intact, and every payload
 * the relay carried is ciphertext that it forwarded byte for byte.
 */
class NoiseThroughRelayTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final Duration PING = Duration.ofSeconds(30);
  private static final int ONE_MIB = 1 << 20;

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void encryptedSessionByInstanceIdAndByClaimCode(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.create(kind);
         TestServer server = TestServer.start(db);
         SimulatedInstance instance = SimulatedInstance.start(server.wsBase(), UUID.randomUUID().toString(),
             KeyPair.generate(), PING, TIMEOUT)) {

      byte[] marker = "plaintext-marker-the-relay-must-never-see".getBytes(StandardCharsets.UTF_8);
      byte[] large = new byte[ONE_MIB];
      new Random(42).nextBytes(large);
      System.arraycopy(marker, 0, large, 1000, marker.length);

      List<String> clientPayloads = new ArrayList<>();
      try (SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), instance.instanceId(), TIMEOUT)) {
        assertEquals(instance.publicKeyBase64(), client.connected().path("public_key").asText());
        assertArrayEquals(marker, client.echo(marker));
        assertArrayEquals(large, client.echo(large), "1 MiB split over Noise frames comes back intact");
        clientPayloads.addAll(client.wirePayloads());
      }

      String code = instance.createClaim("user-1", TIMEOUT).path("code").asText();
      try (SimulatedClient client = SimulatedClient.connectWithClaim(server.wsBase(), code, TIMEOUT)) {
        assertEquals("user-1", client.connected().path("user_id").asText());
        assertFalse(client.connected().path("claim_id").asText().isEmpty());
        assertArrayEquals(marker, client.echo(marker));
        clientPayloads.addAll(client.wirePayloads());
      }

      // What the client sent is exactly what the instance received and vice versa: forwarded untouched.
      List<String> instancePayloads = instance.wirePayloads();
      assertEquals(clientPayloads.size(), instancePayloads.size());
      assertTrue(instancePayloads.containsAll(clientPayloads));
      // ... and none of it is the plaintext: the relay only ever held ciphertext.
      for (String payload : clientPayloads) {
        byte[] wire = Base64.getDecoder().decode(payload);
        assertFalse(contains(wire, marker), "plaintext marker visible on the wire");
      }
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
