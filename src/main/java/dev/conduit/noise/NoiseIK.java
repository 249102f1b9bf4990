package dev.conduit.noise;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.agreement.X25519Agreement;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;

/**
 * HandshakeState for {@code Noise_IK_25519_ChaChaPoly_BLAKE2b} (Noise spec revision 34).
 *
 * <pre>
 * IK:
 *   &lt;- s
 *   ...
 *   -&gt; e, es, s, ss
 *   &lt;- e, ee, se
 * </pre>
 *
 * The initiator (client) knows the responder's static key in advance. Usage: the initiator writes
 * message 1, the responder reads it and writes message 2, the initiator reads it; then both call
 * {@link #split()}. Any failure aborts the handshake for good. Not thread-safe.
 */
public final class NoiseIK {

    public static final String PROTOCOL_NAME = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
    public static final int MAX_MESSAGE_LENGTH = 65535;

    private static final int DH_LENGTH = 32;
    private static final int ENCRYPTED_STATIC_LENGTH = DH_LENGTH + CipherState.TAG_LENGTH;
    // e + encrypted s + payload tag, and e + payload tag.
    private static final int MESSAGE1_OVERHEAD = DH_LENGTH + ENCRYPTED_STATIC_LENGTH + CipherState.TAG_LENGTH;
    private static final int MESSAGE2_OVERHEAD = DH_LENGTH + CipherState.TAG_LENGTH;

    private final boolean initiator;
    private final SymmetricState symmetric;
    private final KeyPair s;
    private KeyPair e; // preset only by the test-vector hook; otherwise generated when writing
    private byte[] rs;
    private byte[] re;
    private int messagesDone; // 0, 1 or 2 (complete)
    private boolean failed;
    private boolean split;

    private NoiseIK(boolean initiator, KeyPair s, byte[] rs, byte[] prologue, KeyPair fixedEphemeral) {
        this.initiator = initiator;
        this.s = Objects.requireNonNull(s, "localStatic");
        this.rs = rs;
        this.e = fixedEphemeral;
        symmetric = new SymmetricState(PROTOCOL_NAME);
        symmetric.mixHash(prologue);
        // Pre-message "<- s": both sides hash the responder's static public key.
        symmetric.mixHash(initiator ? rs : s.publicKey());
    }

    public static NoiseIK initiator(KeyPair localStatic, byte[] remoteStaticPublic, byte[] prologue) {
        return initiator(localStatic, remoteStaticPublic, prologue, null);
    }

    public static NoiseIK responder(KeyPair localStatic, byte[] prologue) {
        return responder(localStatic, prologue, null);
    }

    /** Test hook: fixed ephemeral key, for reproducing published test vectors only. */
    static NoiseIK initiator(
            KeyPair localStatic, byte[] remoteStaticPublic, byte[] prologue, KeyPair ephemeral) {
        byte[] rs = KeyPair.checkedCopy(remoteStaticPublic, "remoteStaticPublic");
        return new NoiseIK(true, localStatic, rs, prologue, ephemeral);
    }

    /** Test hook: fixed ephemeral key, for reproducing published test vectors only. */
    static NoiseIK responder(KeyPair localStatic, byte[] prologue, KeyPair ephemeral) {
        return new NoiseIK(false, localStatic, null, prologue, ephemeral);
    }

    /**
     * Writes the next handshake message carrying {@code payload} (encrypted in both IK messages).
     *
     * @throws IllegalStateException if it is not this side's turn to write
     * @throws IllegalArgumentException if the message would exceed 65535 bytes
     */
    public byte[] writeMessage(byte[] payload) {
        checkTurn(true);
        int overhead = messagesDone == 0 ? MESSAGE1_OVERHEAD : MESSAGE2_OVERHEAD;
        if (payload.length > MAX_MESSAGE_LENGTH - overhead) {
            throw new IllegalArgumentException(
                    "payload of " + payload.length + " bytes exceeds " + (MAX_MESSAGE_LENGTH - overhead));
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(overhead + payload.length);
            if (e == null) {
                e = KeyPair.generate();
            }
            out.writeBytes(e.publicKey());
            symmetric.mixHash(e.publicKey());
            if (messagesDone == 0) { // initiator: e, es, s, ss
                symmetric.mixKey(dh(e, rs));
                out.writeBytes(symmetric.encryptAndHash(s.publicKey()));
                symmetric.mixKey(dh(s, rs));
            } else { // responder: e, ee, se
                symmetric.mixKey(dh(e, re));
                symmetric.mixKey(dh(e, rs));
            }
            out.writeBytes(symmetric.encryptAndHash(payload));
            messagesDone++;
            return out.toByteArray();
        } catch (RuntimeException ex) {
            failed = true;
            throw ex;
        }
    }

    /**
     * Reads the next handshake message and returns its decrypted payload.
     *
     * @throws NoiseException if the message is malformed or fails authentication; the handshake is
     *     then aborted
     * @throws IllegalStateException if it is not this side's turn to read
     */
    public byte[] readMessage(byte[] message) {
        checkTurn(false);
        try {
            int overhead = messagesDone == 0 ? MESSAGE1_OVERHEAD : MESSAGE2_OVERHEAD;
            if (message.length > MAX_MESSAGE_LENGTH) {
                throw new NoiseException("message exceeds " + MAX_MESSAGE_LENGTH + " bytes");
            }
            if (message.length < overhead) {
                throw new NoiseException("message " + (messagesDone + 1) + " is too short");
            }
            re = Arrays.copyOfRange(message, 0, DH_LENGTH);
            symmetric.mixHash(re);
            int offset = DH_LENGTH;
            if (messagesDone == 0) { // responder: e, es, s, ss
                symmetric.mixKey(dh(s, re));
                byte[] encryptedStatic = Arrays.copyOfRange(message, offset, offset + ENCRYPTED_STATIC_LENGTH);
                rs = symmetric.decryptAndHash(encryptedStatic);
                offset += ENCRYPTED_STATIC_LENGTH;
                symmetric.mixKey(dh(s, rs));
            } else { // initiator: e, ee, se
                symmetric.mixKey(dh(e, re));
                symmetric.mixKey(dh(s, re));
            }
            byte[] payload = symmetric.decryptAndHash(Arrays.copyOfRange(message, offset, message.length));
            messagesDone++;
            return payload;
        } catch (RuntimeException ex) {
            failed = true;
            throw ex;
        }
    }

    public boolean isComplete() {
        return messagesDone == 2 && !failed;
    }

    /**
     * Returns the transport CipherStates. Allowed once, after completion: a second Transport would
     * reuse the same keys and nonces.
     */
    public Transport split() {
        if (!isComplete()) {
            throw new IllegalStateException("handshake is not complete");
        }
        if (split) {
            throw new IllegalStateException("split() was already called");
        }
        split = true;
        e = null; // the ephemeral private key is no longer needed
        SymmetricState.CipherPair pair = symmetric.split();
        return initiator
                ? new Transport(pair.initiatorToResponder(), pair.responderToInitiator())
                : new Transport(pair.responderToInitiator(), pair.initiatorToResponder());
    }

    /**
     * The peer's static public key: known from the start on the initiator, learned from message 1
     * on the responder (authenticated only once the handshake completes).
     */
    public byte[] remoteStaticPublicKey() {
        if (rs == null) {
            throw new IllegalStateException("remote static key not known yet");
        }
        return rs.clone();
    }

    /** The handshake hash h, for channel binding; identical on both sides. */
    public byte[] handshakeHash() {
        if (!isComplete()) {
            throw new IllegalStateException("handshake is not complete");
        }
        return symmetric.handshakeHash();
    }

    private void checkTurn(boolean writing) {
        if (failed) {
            throw new IllegalStateException("handshake failed earlier; start a new one");
        }
        if (messagesDone >= 2) {
            throw new IllegalStateException("handshake already complete");
        }
        // Message 1 is written by the initiator, message 2 by the responder.
        boolean myTurnToWrite = (messagesDone == 0) == initiator;
        if (writing != myTurnToWrite) {
            throw new IllegalStateException(
                    "not this side's turn to " + (writing ? "write" : "read") + " message " + (messagesDone + 1));
        }
    }

    private static byte[] dh(KeyPair local, byte[] remotePublic) {
        X25519Agreement agreement = new X25519Agreement();
        agreement.init(new X25519PrivateKeyParameters(local.privateKey()));
        byte[] shared = new byte[agreement.getAgreementSize()];
        try {
            agreement.calculateAgreement(new X25519PublicKeyParameters(remotePublic), shared, 0);
        } catch (IllegalStateException ex) {
            // BouncyCastle rejects an all-zero result, i.e. a low-order public key.
            throw new NoiseException("invalid X25519 public key", ex);
        }
        return shared;
    }
}
