package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.webhook.signature.Verdict;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeldPayloadsTest {
  private static WebhookEvent.Received payload(String id, int bodyBytes) {
    return new WebhookEvent.Received(id, Instant.EPOCH, Map.of("ab", "cd"), new byte[bodyBytes], Verdict.UNSIGNED,
        null, true);
  }

  @Test
  void holdsOldestFirstUpToTheLimit_releaseMakesRoom() {
    HeldPayloads held = new HeldPayloads(30);
    assertTrue(held.hold(payload("a", 10)), "10 + 4 header bytes");
    assertTrue(held.hold(payload("b", 10)));
    assertEquals(28, held.bytes());
    assertFalse(held.hold(payload("c", 10)), "full: the newest is not held, the older ones stay");
    assertTrue(held.get("a").isPresent());
    assertTrue(held.get("c").isEmpty());
    held.release("a");
    assertEquals(14, held.bytes());
    assertTrue(held.hold(payload("c", 10)));
    assertTrue(held.hold(payload("c", 10)), "holding one twice counts it once");
    assertEquals(28, held.bytes());
    held.release("nope");
    assertEquals(28, held.bytes());
  }

  @Test
  void zeroHoldsNothing() {
    HeldPayloads held = new HeldPayloads(0);
    assertFalse(held.hold(payload("a", 1)));
    assertTrue(held.get("a").isEmpty());
  }
}
