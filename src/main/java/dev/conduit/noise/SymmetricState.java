package dev.conduit.noise;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.Blake2bDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/** Noise SymmetricState with BLAKE2b (HASHLEN 64, BLOCKLEN 128). */
final class SymmetricState {

    static final int HASH_LENGTH = 64;

    /** The two CipherStates returned by Split(): initiator-to-responder and the reverse. */
    record CipherPair(CipherState initiatorToResponder, CipherState responderToInitiator) {}

    private final CipherState cipher = new CipherState();
    private byte[] ck;
    private byte[] h;

    SymmetricState(String protocolName) {
        byte[] name = protocolName.getBytes(StandardCharsets.US_ASCII);
        h = name.length <= HASH_LENGTH ? Arrays.copyOf(name, HASH_LENGTH) : hash(name);
        ck = h.clone();
    }

    void mixHash(byte[] data) {
        h = hash(h, data);
    }

    void mixKey(byte[] inputKeyMaterial) {
        byte[][] out = hkdf(ck, inputKeyMaterial);
        ck = out[0];
        cipher.initializeKey(truncateToKey(out[1]));
    }

    byte[] encryptAndHash(byte[] plaintext) {
        byte[] ciphertext = cipher.encryptWithAd(h, plaintext);
        mixHash(ciphertext);
        return ciphertext;
    }

    byte[] decryptAndHash(byte[] ciphertext) {
        byte[] plaintext = cipher.decryptWithAd(h, ciphertext);
        mixHash(ciphertext);
        return plaintext;
    }

    CipherPair split() {
        byte[][] out = hkdf(ck, new byte[0]);
        CipherState c1 = new CipherState();
        CipherState c2 = new CipherState();
        c1.initializeKey(truncateToKey(out[0]));
        c2.initializeKey(truncateToKey(out[1]));
        return new CipherPair(c1, c2);
    }

    byte[] handshakeHash() {
        return h.clone();
    }

    // HASHLEN is 64, so 64-byte HKDF outputs are truncated to the 32-byte cipher key.
    private static byte[] truncateToKey(byte[] hkdfOutput) {
        return Arrays.copyOf(hkdfOutput, CipherState.KEY_LENGTH);
    }

    /** HKDF as defined by the Noise spec (section 4.3), with two outputs. */
    private static byte[][] hkdf(byte[] chainingKey, byte[] inputKeyMaterial) {
        byte[] tempKey = hmac(chainingKey, inputKeyMaterial);
        byte[] output1 = hmac(tempKey, new byte[] {0x01});
        byte[] output2 = hmac(tempKey, output1, new byte[] {0x02});
        Arrays.fill(tempKey, (byte) 0);
        return new byte[][] {output1, output2};
    }

    private static byte[] hmac(byte[] key, byte[]... data) {
        HMac mac = new HMac(new Blake2bDigest(HASH_LENGTH * 8)); // block size 128 from the digest
        mac.init(new KeyParameter(key));
        for (byte[] d : data) {
            mac.update(d, 0, d.length);
        }
        byte[] out = new byte[mac.getMacSize()];
        mac.doFinal(out, 0);
        return out;
    }

    private static byte[] hash(byte[]... data) {
        Blake2bDigest digest = new Blake2bDigest(HASH_LENGTH * 8);
        for (byte[] d : data) {
            digest.update(d, 0, d.length);
        }
        byte[] out = new byte[HASH_LENGTH];
        digest.doFinal(out, 0);
        return out;
    }
}
