package dev.conduit.noise;

import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.util.encoders.Hex;

/** A raw 32-byte X25519 key pair. Arrays are copied in and out, so instances are immutable. */
public record KeyPair(byte[] privateKey, byte[] publicKey) {

    public static final int KEY_LENGTH = 32;

    private static final SecureRandom RANDOM = new SecureRandom();

    public KeyPair {
        privateKey = checkedCopy(privateKey, "privateKey");
        publicKey = checkedCopy(publicKey, "publicKey");
    }

    public static KeyPair generate() {
        return fromParameters(new X25519PrivateKeyParameters(RANDOM));
    }

    /** Derives the public key from a raw private key (clamping happens inside X25519). */
    public static KeyPair fromPrivate(byte[] privateKey) {
        return fromParameters(new X25519PrivateKeyParameters(checkedCopy(privateKey, "privateKey")));
    }

    private static KeyPair fromParameters(X25519PrivateKeyParameters priv) {
        return new KeyPair(priv.getEncoded(), priv.generatePublicKey().getEncoded());
    }

    @Override
    public byte[] privateKey() {
        return privateKey.clone();
    }

    @Override
    public byte[] publicKey() {
        return publicKey.clone();
    }

    // Records compare arrays by reference; compare contents instead.
    @Override
    public boolean equals(Object o) {
        return o instanceof KeyPair other
                && Arrays.equals(privateKey, other.privateKey)
                && Arrays.equals(publicKey, other.publicKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(publicKey);
    }

    /** Never prints the private key. */
    @Override
    public String toString() {
        return "KeyPair[publicKey=" + Hex.toHexString(publicKey) + "]";
    }

    static byte[] checkedCopy(byte[] key, String name) {
        if (key == null || key.length != KEY_LENGTH) {
            throw new IllegalArgumentException(name + " must be " + KEY_LENGTH + " bytes");
        }
        return key.clone();
    }
}
