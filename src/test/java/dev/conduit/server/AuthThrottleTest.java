package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The failed-authentication rule as pure functions. */
class AuthThrottleTest {
  private static final AuthThrottle THROTTLE = new AuthThrottle(3, Duration.ofSeconds(60));
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void blockedAfterMaxFailuresUntilTheWindowHasPassed() {
    AuthThrottle.Failures failures = null;
    for (int i = 0; i < 3; i++) {
      assertEquals(Optional.empty(), THROTTLE.blockedFor(failures, T0.plusSeconds(i)), "may try, attempt " + i);
      failures = THROTTLE.afterFailure(failures, T0.plusSeconds(i));
    }
    assertEquals(new AuthThrottle.Failures(T0, 3), failures);
    assertEquals(Optional.of(Duration.ofSeconds(50)), THROTTLE.blockedFor(failures, T0.plusSeconds(10)));
    assertEquals(Optional.of(Duration.ofMillis(1)), THROTTLE.blockedFor(failures, T0.plusMillis(59_999)));
    assertEquals(Optional.empty(), THROTTLE.blockedFor(failures, T0.plusSeconds(60)), "window passed");
    assertEquals(new AuthThrottle.Failures(T0.plusSeconds(60), 1), THROTTLE.afterFailure(failures, T0.plusSeconds(60)),
        "a failure after the window starts a new one");
  }

  @Test
  void failuresInAnOldWindowDoNotCount() {
    AuthThrottle.Failures two = new AuthThrottle.Failures(T0, 2);
    assertEquals(new AuthThrottle.Failures(T0, 3), THROTTLE.afterFailure(two, T0.plusSeconds(59)));
    assertEquals(new AuthThrottle.Failures(T0.plusSeconds(61), 1), THROTTLE.afterFailure(two, T0.plusSeconds(61)));
  }
}
