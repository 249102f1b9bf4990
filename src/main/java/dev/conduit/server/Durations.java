package dev.conduit.server;

import java.math.BigDecimal;
import java.time.Duration;

/** Durations as people read them in log lines and error messages. */
public final class Durations {
  private static final long MILLIS_PER_SECOND = 1000;
  private static final int NANOS_SCALE = 9;

  private Durations() {}

  /**
   * A duration in the unit an operator would write it, without losing a fraction: {@code 500 ms},
   * {@code 30 s}, {@code 1.5 s}, {@code 0.0005 s}. (Whole seconds alone would print a 500 ms grace as
   * "0 s".)
   */
  public static String text(Duration duration) {
    long millis = duration.toMillis();
    if (Math.abs(millis) < MILLIS_PER_SECOND && duration.equals(Duration.ofMillis(millis)) && millis != 0) {
      return millis + " ms";
    }
    return BigDecimal.valueOf(duration.toNanos(), NANOS_SCALE).stripTrailingZeros().toPlainString() + " s";
  }
}
