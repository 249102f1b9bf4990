package dev.conduit.noise;

/**
 * The transport phase of a completed Noise session: one CipherState per direction, empty associated
 * data. Not thread-safe per direction; {@link #encrypt} and {@link #decrypt} use separate state, so
 * one sending thread and one receiving thread may use the same instance.
 */
public final class Transport {

    /** Largest plaintext that fits in one Noise message (65535 bytes including the 16-byte tag). */
    public static final int MAX_PLAINTEXT = 65535 - 16;

    private static final byte[] NO_AD = new byte[0];

    private final CipherState send;
    private final CipherState receive;

    Transport(CipherState send, CipherState receive) {
        this.send = send;
        this.receive = receive;
    }

    public byte[] encrypt(byte[] plaintext) {
        if (plaintext.length > MAX_PLAINTEXT) {
            throw new IllegalArgumentException(
                    "plaintext of " + plaintext.length + " bytes exceeds " + MAX_PLAINTEXT);
        }
        return send.encryptWithAd(NO_AD, plaintext);
    }

    /** @throws NoiseException if the frame is malformed or fails authentication */
    public byte[] decrypt(byte[] ciphertext) {
        if (ciphertext.length > NoiseIK.MAX_MESSAGE_LENGTH) {
            throw new NoiseException("message exceeds " + NoiseIK.MAX_MESSAGE_LENGTH + " bytes");
        }
        return receive.decryptWithAd(NO_AD, ciphertext);
    }
}
