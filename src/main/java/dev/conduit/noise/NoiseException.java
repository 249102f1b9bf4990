package dev.conduit.noise;

/**
 * A Noise message or transport frame could not be processed: authentication failed, the input is
 * malformed (wrong length) or the peer sent an invalid public key. The session must be dropped.
 */
public final class NoiseException extends RuntimeException {

    public NoiseException(String message) {
        super(message);
    }

    public NoiseException(String message, Throwable cause) {
        super(message, cause);
    }
}
