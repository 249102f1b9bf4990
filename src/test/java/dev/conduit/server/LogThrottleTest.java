package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Once per interval per key, with the count of what was held back. */
class LogThrottleTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void firstAtOnceThenOncePerIntervalWithTheCount() {
    AtomicLong now = new AtomicLong(5 * SECOND);
    LogThrottle throttle = new LogThrottle(Duration.ofSeconds(10), now::get);
    assertEquals(OptionalLong.of(1), throttle.occurrence("a"));
    for (int i = 0; i < 1000; i++) {
      now.addAndGet(SECOND / 1000);
      assertEquals(OptionalLong.empty(), throttle.occurrence("a"));
    }
    assertEquals(OptionalLong.of(1), throttle.occurrence("b"), "keys are independent");
    now.set(15 * SECOND); // exactly one interval after the first logged line
    assertEquals(OptionalLong.of(1001), throttle.occurrence("a"), "this one and the 1000 held back");
    now.addAndGet(SECOND);
    assertEquals(OptionalLong.empty(), throttle.occurrence("a"));
    now.addAndGet(10 * SECOND);
    assertEquals(OptionalLong.of(2), throttle.occurrence("a"));
  }
}
