package dev.conduit.tunnel;

import dev.conduit.noise.KeyPair;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import org.bouncycastle.crypto.agreement.X25519Agreement;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;

/**
 * Proof that a registering instance holds the X25519 private key of the public key it registers
 * (relay protocol 1.1). The relay sends an ephemeral public key E and a nonce; the instance answers
 * {@code mac = HMAC-SHA256(k, nonce || UTF-8(instance_id) || instance_public_key)} where
 * {@code k = HKDF-SHA256(ikm = X25519(instance_private, E), salt = none, info = LABEL)}, 32 bytes. The relay
 * derives the same k from X25519(e, instance_public) and compares in constant time. The public key alone,
 * which every client learns, is not enough to compute k. All primitives are BouncyCastle's.
 */
public final class PossessionProof {
  public static final int NONCE_BYTES = 32;
  public static final int MAC_BYTES = 32;
  /** HKDF info: binds the derived key to this use, so no other X25519 exchange can be replayed as a proof. */
  static final byte[] LABEL = "conduit relay possession proof v1".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private PossessionProof() {}

  /** The relay's side of one proof: a fresh ephemeral key pair and nonce, used for one register only. */
  public record Challenge(KeyPair ephemeral, byte[] nonce) {
    public static Challenge create() {
      byte[] nonce = new byte[NONCE_BYTES];
      RANDOM.nextBytes(nonce);
      return new Challenge(KeyPair.generate(), nonce);
    }

    /**
     * True when mac proves possession of the private key of instancePublicKey for this challenge and id.
     * False, never an exception, for a wrong mac or a low-order public key (no proof is possible with one).
     */
    public boolean verify(String instanceId, byte[] instancePublicKey, byte[] mac) {
      byte[] shared = agree(ephemeral.privateKey(), instancePublicKey);
      return shared != null && MessageDigest.isEqual(mac(shared, nonce, instanceId, instancePublicKey), mac);
    }
  }

  /**
   * The instance's answer to a challenge (relayEphemeralPublic and nonce as received, decoded).
   *
   * @throws IllegalArgumentException when relayEphemeralPublic is not a usable X25519 public key
   */
  public static byte[] prove(KeyPair instanceKey, byte[] relayEphemeralPublic, byte[] nonce, String instanceId) {
    byte[] shared = agree(instanceKey.privateKey(), relayEphemeralPublic);
    if (shared == null) {
      throw new IllegalArgumentException("relay_public_key is not a usable X25519 public key");
    }
    return mac(shared, nonce, instanceId, instanceKey.publicKey());
  }

  static byte[] mac(byte[] shared, byte[] nonce, String instanceId, byte[] instancePublicKey) {
    byte[] key = new byte[32];
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(shared, null, LABEL));
    hkdf.generateBytes(key, 0, key.length);
    HMac hmac = new HMac(new SHA256Digest());
    hmac.init(new KeyParameter(key));
    // nonce and key have fixed lengths, so the variable-length id between them cannot be confused.
    hmac.update(nonce, 0, nonce.length);
    byte[] id = instanceId.getBytes(StandardCharsets.UTF_8);
    hmac.update(id, 0, id.length);
    hmac.update(instancePublicKey, 0, instancePublicKey.length);
    byte[] out = new byte[MAC_BYTES];
    hmac.doFinal(out, 0);
    return out;
  }

  /** X25519, or null when the result is all zeros (a low-order public key), which BouncyCastle refuses. */
  private static byte[] agree(byte[] privateKey, byte[] publicKey) {
    if (publicKey == null || publicKey.length != KeyPair.KEY_LENGTH) {
      return null;
    }
    X25519Agreement agreement = new X25519Agreement();
    agreement.init(new X25519PrivateKeyParameters(privateKey));
    byte[] shared = new byte[agreement.getAgreementSize()];
    try {
      agreement.calculateAgreement(new X25519PublicKeyParameters(publicKey), shared, 0);
    } catch (IllegalStateException lowOrder) {
      return null;
    }
    return shared;
  }
}
