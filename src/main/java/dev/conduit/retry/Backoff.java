package dev.conduit.retry;

import java.time.Duration;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.stream.RestartSettings;

/**
 * The one exponential backoff of the code base: {@code min} doubling per failed attempt up to {@code max},
 * each shortened by a random fraction of up to {@code jitter} (so the cap is never exceeded). Used for hub
 * reconnects, webhook redelivery and, through the adapters below, for pekko's own restarts (journal
 * failures, webhook-table failures of endpoint entities), so every retry delay is named by one type.
 *
 * @param jitter in [0, 1); 0 makes every delay exact
 */
public record Backoff(Duration min, Duration max, double jitter) {

  private static final double MULTIPLIER = 2.0;

  public Backoff {
    if (min.isNegative() || min.isZero() || max.compareTo(min) < 0 || jitter < 0 || jitter >= 1) {
      throw new IllegalArgumentException("backoff needs 0 < min <= max and jitter in [0, 1): " + min + ", " + max
          + ", " + jitter);
    }
  }

  /**
   * @param attempt failed attempts before this one, 0 for the first retry
   * @param random  uniform in [0, 1)
   * @return min * 2^attempt, capped at max, less up to jitter of it; millisecond resolution
   */
  public Duration delay(int attempt, double random) {
    // Math.pow in doubles: no overflow however many attempts fail; min() caps it.
    double base = Math.min(max.toMillis(), min.toMillis() * Math.pow(MULTIPLIER, attempt));
    return Duration.ofMillis(Math.round(base * (1 - jitter * random)));
  }

  /** The delay without its random part. */
  public Duration delay(int attempt) {
    return delay(attempt, 0);
  }

  /**
   * The same bounds for pekko's supervisor restarts; pekko applies the factor upwards (up to
   * (1 + jitter) of the delay), and its own doubling.
   */
  public BackoffSupervisorStrategy supervisorStrategy() {
    return SupervisorStrategy.restartWithBackoff(min, max, jitter);
  }

  /** The same bounds for a pekko-stream RestartSource (see {@link #supervisorStrategy} for the jitter). */
  public RestartSettings restartSettings() {
    return RestartSettings.create(min, max, jitter);
  }
}
