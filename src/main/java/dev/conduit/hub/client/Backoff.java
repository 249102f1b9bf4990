package dev.conduit.hub.client;

import java.time.Duration;

/**
 * Reconnect delays: {@code min} doubling per failed attempt up to {@code max}, each shortened by a random
 * fraction of up to {@code jitter} (so the cap is never exceeded).
 */
record Backoff(Duration min, Duration max, double jitter) {

  private static final double MULTIPLIER = 2.0;

  /** @param attempt failed attempts since the last successful connect (0 for the first retry)
   *  @param random  uniform in [0, 1) */
  Duration delay(int attempt, double random) {
    // Math.pow in doubles: no overflow however many attempts fail; min() caps it.
    double base = Math.min(max.toMillis(), min.toMillis() * Math.pow(MULTIPLIER, attempt));
    return Duration.ofMillis(Math.round(base * (1 - jitter * random)));
  }
}
