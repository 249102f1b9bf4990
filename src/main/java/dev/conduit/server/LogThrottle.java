package dev.conduit.server;

import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * "Log once per interval, with a count": for conditions that can repeat thousands of times a second
 * (accept errors, refused connections, failed admin logins), where one line per occurrence would
 * flood the log. Per key (e.g. "refused ip=1.2.3.4"), the first occurrence is logged at once; the
 * ones after it inside the interval are only counted, and the next occurrence after the interval is
 * logged with that count. Thread-safe; the clock (nanoseconds) is injected so the rule can be tested.
 */
public final class LogThrottle {
  /** Above this many keys, those whose interval has passed are forgotten (bounded memory). */
  private static final int SWEEP_ABOVE = 10_000;

  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  private record Window(long startedAt, long suppressed) {}

  public LogThrottle(Duration interval, LongSupplier nanoTime) {
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
  }

  /**
   * Records one occurrence of key. Returns the number of occurrences this line stands for (1 plus
   * those suppressed since the last logged one) when the caller should log now; empty when it should not.
   */
  public OptionalLong occurrence(String key) {
    long now = nanoTime.getAsLong();
    if (windows.size() > SWEEP_ABOVE) {
      windows.values().removeIf(w -> now - w.startedAt() >= intervalNanos);
    }
    long[] logNow = {-1};
    windows.compute(key, (k, w) -> {
      if (w == null || now - w.startedAt() >= intervalNanos) {
        logNow[0] = 1 + (w == null ? 0 : w.suppressed());
        return new Window(now, 0);
      }
      return new Window(w.startedAt(), w.suppressed() + 1);
    });
    return logNow[0] < 0 ? OptionalLong.empty() : OptionalLong.of(logNow[0]);
  }
}
