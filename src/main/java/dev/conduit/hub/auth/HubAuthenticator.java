package dev.conduit.hub.auth;

import java.security.MessageDigest;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Authenticates a hub's {@code ConnectRequest(hub_id, timestamp, signature)}; see {@link HubSignature}.
 * Checks run in a fixed order: unknown hub, timestamp window, signature, replay. Thread-safe.
 */
public final class HubAuthenticator {

    private final Map<String, String> secretsByHubId;
    private final Clock clock;
    private final Duration tolerance;
    private final ReplayCache replays;

    /**
     * @param tolerance             how far the hub's timestamp may be from the clock, either way (300 s)
     * @param replayCacheMaxEntries bound on remembered signatures; when full the oldest is forgotten
     */
    public HubAuthenticator(Map<String, String> secretsByHubId, Clock clock, Duration tolerance,
                            int replayCacheMaxEntries) {
        this.secretsByHubId = Map.copyOf(secretsByHubId);
        this.secretsByHubId.forEach((id, secret) -> {
            if (secret.isEmpty()) {
                throw new IllegalArgumentException("secret for hub '" + id + "' is empty");
            }
        });
        this.clock = Objects.requireNonNull(clock, "clock");
        this.tolerance = Objects.requireNonNull(tolerance, "tolerance");
        if (tolerance.isNegative()) {
            throw new IllegalArgumentException("tolerance must not be negative: " + tolerance);
        }
        this.replays = new ReplayCache(replayCacheMaxEntries);
    }

    /** Parses the {@code CONDUIT_HUBS} format {@code id:secret[,id:secret...]}. */
    public static Map<String, String> parseHubs(String spec) {
        return HubSpec.parse(spec);
    }

    public AuthResult authenticate(String hubId, long timestamp, String signature) {
        String secret = hubId == null ? null : secretsByHubId.get(hubId);
        if (secret == null) {
            return new AuthResult.Rejected(AuthResult.UNKNOWN_HUB);
        }
        // Wire timestamps have whole-second precision, so compare against whole seconds too.
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        Optional<Instant> stamp = toInstant(timestamp);
        if (stamp.isEmpty() || Duration.between(stamp.get(), now).abs().compareTo(tolerance) > 0) {
            return new AuthResult.Rejected(AuthResult.OUTSIDE_WINDOW);
        }
        Optional<byte[]> given = decodeHex(signature);
        if (given.isEmpty()
                || !MessageDigest.isEqual(HubSignature.mac(hubId, timestamp, secret), given.get())) {
            return new AuthResult.Rejected(AuthResult.INVALID_SIGNATURE);
        }
        // Key on the canonical hex so that an upper-cased copy still counts as a replay.
        var key = new ReplayCache.Key(hubId, HexFormat.of().formatHex(given.get()));
        if (!replays.firstUse(key, stamp.get().plus(tolerance), now)) {
            return new AuthResult.Rejected(AuthResult.REPLAYED);
        }
        return new AuthResult.Accepted();
    }

    /** Number of remembered signatures (for metrics and tests). */
    int replayCacheSize() {
        return replays.size();
    }

    private static Optional<Instant> toInstant(long epochSeconds) {
        try {
            return Optional.of(Instant.ofEpochSecond(epochSeconds));
        } catch (DateTimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<byte[]> decodeHex(String hex) {
        if (hex == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(HexFormat.of().parseHex(hex));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
