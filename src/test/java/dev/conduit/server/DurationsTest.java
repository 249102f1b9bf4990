package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void subSecondDurationsAreNotTruncated() {
    assertEquals("500 ms", Durations.text(Duration.ofMillis(500)));
    assertEquals("1.5 s", Durations.text(Duration.ofMillis(1500)));
    assertEquals("0.0005 s", Durations.text(Duration.ofNanos(500_000)));
  }

  @Test
  void wholeSecondsReadAsBefore() {
    assertEquals("30 s", Durations.text(Duration.ofSeconds(30)));
    assertEquals("0 s", Durations.text(Duration.ZERO));
    assertEquals("120 s", Durations.text(Duration.ofMinutes(2)));
  }
}
