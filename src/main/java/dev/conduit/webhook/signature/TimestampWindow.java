package dev.conduit.webhook.signature;

import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.OptionalLong;

/** Accepts Unix-second timestamps within {@code tolerance} of the clock, in either direction. */
record TimestampWindow(Clock clock, Duration tolerance) {

    TimestampWindow {
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(tolerance, "tolerance");
        if (tolerance.isNegative()) {
            throw new IllegalArgumentException("tolerance must not be negative: " + tolerance);
        }
    }

    boolean contains(long epochSeconds) {
        Instant stamp;
        try {
            stamp = Instant.ofEpochSecond(epochSeconds);
        } catch (DateTimeException e) {
            return false;
        }
        // Wire timestamps have whole-second precision, so compare against whole seconds too.
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        return Duration.between(stamp, now).abs().compareTo(tolerance) <= 0;
    }

    static OptionalLong parseSeconds(String text) {
        try {
            return OptionalLong.of(Long.parseLong(text));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
