package dev.conduit.hub.auth;

import java.util.Objects;

/** Outcome of a hub's connect handshake. */
public sealed interface AuthResult permits AuthResult.Accepted, AuthResult.Rejected {

    String UNKNOWN_HUB = "unknown hub";
    String OUTSIDE_WINDOW = "timestamp outside allowed window";
    String INVALID_SIGNATURE = "invalid signature";
    String REPLAYED = "signature already used";

    record Accepted() implements AuthResult {
    }

    /** {@code reason} is one of the constants above, safe to send back to the hub and to log. */
    record Rejected(String reason) implements AuthResult {
        public Rejected {
            Objects.requireNonNull(reason, "reason");
        }
    }

    default boolean isAccepted() {
        return this instanceof Accepted;
    }
}
