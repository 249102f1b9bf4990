package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.noise.KeyPair;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PossessionProofTest {
  private static final String ID = "3f1c-instance";

  @Test
  void theKeysOwnerProvesItAndNothingElseDoes() {
    KeyPair owner = KeyPair.generate();
    PossessionProof.Challenge challenge = PossessionProof.Challenge.create();
    byte[] mac = PossessionProof.prove(owner, challenge.ephemeral().publicKey(), challenge.nonce(), ID);
    assertEquals(PossessionProof.MAC_BYTES, mac.length);
    assertTrue(challenge.verify(ID, owner.publicKey(), mac));

    // Another private key, another id, another challenge (a replayed proof), a flipped bit: all refused.
    KeyPair attacker = KeyPair.generate();
    assertFalse(challenge.verify(ID, owner.publicKey(),
        PossessionProof.prove(attacker, challenge.ephemeral().publicKey(), challenge.nonce(), ID)));
    assertFalse(challenge.verify(ID + "x", owner.publicKey(), mac));
    assertFalse(PossessionProof.Challenge.create().verify(ID, owner.publicKey(), mac));
    mac[0] ^= 1;
    assertFalse(challenge.verify(ID, owner.publicKey(), mac));
    // A low-order public key (u = 0) cannot be proven: refused, not an exception.
    assertFalse(challenge.verify(ID, new byte[32], new byte[32]));
    assertThrows(IllegalArgumentException.class, () -> PossessionProof.prove(owner, new byte[32], challenge.nonce(), ID));
  }

  /**
   * A fixed vector, so that instances written in other languages can check their implementation; the
   * expected mac was computed independently with Python's cryptography package (X25519, HKDF, HMAC).
   */
  @Test
  void knownAnswer() {
    HexFormat hex = HexFormat.of();
    KeyPair instance = KeyPair.fromPrivate(hex.parseHex("a8abababababababababababababababababababababababababababababab6b"));
    KeyPair relay = KeyPair.fromPrivate(hex.parseHex("c8cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd4d"));
    byte[] nonce = new byte[PossessionProof.NONCE_BYTES];
    byte[] mac = PossessionProof.prove(instance, relay.publicKey(), nonce, "instance-1");
    assertTrue(new PossessionProof.Challenge(relay, nonce).verify("instance-1", instance.publicKey(), mac));
    assertArrayEquals(mac, PossessionProof.prove(instance, relay.publicKey(), nonce, "instance-1"));
    assertEquals(KNOWN_MAC, hex.formatHex(mac));
  }

  private static final String KNOWN_MAC = "4a6f25d5e2512652a40f5c0bc9a08b87d2c1f32dd47be29bb83db57f84020a7c";
}
