package dev.conduit.server;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The rule for failed authentication from one address, as pure functions: after maxFailures failures
 * inside a window (which starts at the first failure), the address is blocked until the window has
 * passed; then it starts afresh. A success neither counts nor resets (an attacker who also holds a
 * valid token gains nothing from it).
 */
public record AuthThrottle(int maxFailures, Duration window) {

  /** Failures from one address in the window that started at windowStart. */
  public record Failures(Instant windowStart, int count) {}

  /** How long an address with these failures must wait before trying again; empty when it may try now. */
  public Optional<Duration> blockedFor(Failures failures, Instant now) {
    if (failures == null || expired(failures, now) || failures.count() < maxFailures) {
      return Optional.empty();
    }
    return Optional.of(Duration.between(now, failures.windowStart().plus(window)));
  }

  /** The failures after one more at now. */
  public Failures afterFailure(Failures failures, Instant now) {
    return failures == null || expired(failures, now) ? new Failures(now, 1)
        : new Failures(failures.windowStart(), failures.count() + 1);
  }

  /** Whether these failures no longer matter at now (their window has passed). */
  public boolean expired(Failures failures, Instant now) {
    return !now.isBefore(failures.windowStart().plus(window));
  }
}
