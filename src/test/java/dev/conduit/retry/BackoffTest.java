package dev.conduit.retry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void doublesFromMinUpToMax_jitterOnlyShortens() {
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(8), 0.5);
    assertEquals(Duration.ofSeconds(1), backoff.delay(0));
    assertEquals(Duration.ofSeconds(4), backoff.delay(2));
    assertEquals(Duration.ofSeconds(8), backoff.delay(3));
    assertEquals(Duration.ofSeconds(8), backoff.delay(Integer.MAX_VALUE), "no overflow");
    assertEquals(Duration.ofSeconds(2), backoff.delay(2, 0.999999), "at most jitter of the delay is taken off");
  }

  @Test
  void refusesBoundsThatMakeNoSense() {
    assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), 0));
    assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 0));
    assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 1));
  }
}
