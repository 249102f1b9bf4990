package dev.conduit.noise;

import java.util.Arrays;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.util.Pack;

/** Noise CipherState for ChaChaPoly: a key (possibly empty) and a 64-bit message counter. */
final class CipherState {

    static final int KEY_LENGTH = 32;
    static final int TAG_LENGTH = 16;

    private byte[] k; // null means "empty": no encryption yet
    private long n; // unsigned; 2^64-1 (-1L) is reserved and never used

    void initializeKey(byte[] key) {
        k = key.clone();
        n = 0;
    }

    byte[] encryptWithAd(byte[] ad, byte[] plaintext) {
        if (k == null) {
            return plaintext.clone();
        }
        try {
            byte[] out = run(true, ad, plaintext);
            n++;
            return out;
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 encryption failed", e);
        }
    }

    /** Throws on authentication failure; n is then left unchanged, as the spec requires. */
    byte[] decryptWithAd(byte[] ad, byte[] ciphertext) {
        if (k == null) {
            return ciphertext.clone();
        }
        if (ciphertext.length < TAG_LENGTH) {
            throw new NoiseException("ciphertext shorter than the authentication tag");
        }
        try {
            byte[] out = run(false, ad, ciphertext);
            n++;
            return out;
        } catch (InvalidCipherTextException e) {
            throw new NoiseException("authentication failed", e);
        }
    }

    private byte[] run(boolean encrypt, byte[] ad, byte[] input) throws InvalidCipherTextException {
        if (n == -1L) {
            throw new IllegalStateException("nonce space exhausted; start a new session");
        }
        // ChaChaPoly nonce: 32 bits of zeros followed by the little-endian 64-bit counter.
        byte[] nonce = new byte[12];
        Pack.longToLittleEndian(n, nonce, 4);
        ChaCha20Poly1305 aead = new ChaCha20Poly1305();
        aead.init(encrypt, new AEADParameters(new KeyParameter(k), TAG_LENGTH * 8, nonce, ad));
        byte[] out = new byte[aead.getOutputSize(input.length)];
        int len = aead.processBytes(input, 0, input.length, out, 0);
        try {
            len += aead.doFinal(out, len);
        } catch (InvalidCipherTextException e) {
            Arrays.fill(out, (byte) 0); // BC may already have written unauthenticated plaintext
            throw e;
        }
        return len == out.length ? out : Arrays.copyOf(out, len);
    }
}
