package dev.conduit.hub.client;

import dev.conduit.retry.Backoff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The hub client's small pure parts. */
class HubClientPartsTest {

  @Test
  void theIngestQueryIsAppendedToTheDestination() {
    assertEquals("http://h/p", WebhookPoster.target("http://h/p", ""));
    assertEquals("http://h/p?token=abc", WebhookPoster.target("http://h/p", "token=abc"));
    assertEquals("http://h/p?x=1&token=abc", WebhookPoster.target("http://h/p?x=1", "token=abc"));
    assertEquals("http://h/p?token=abc", WebhookPoster.target("http://h/p?", "token=abc"));
    assertEquals("http://h/p?x=1&token=a%20b#f", WebhookPoster.target("http://h/p?x=1#f", "token=a%20b"));
  }

  @Test
  void backoffDoublesUpToTheCapAndJitterOnlyShortens() {
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), 0.2);
    assertEquals(Duration.ofSeconds(1), backoff.delay(0, 0));
    assertEquals(Duration.ofSeconds(2), backoff.delay(1, 0));
    assertEquals(Duration.ofSeconds(32), backoff.delay(5, 0));
    assertEquals(Duration.ofSeconds(60), backoff.delay(6, 0));
    assertEquals(Duration.ofSeconds(60), backoff.delay(10_000, 0));
    assertEquals(Duration.ofMillis(800), backoff.delay(0, 1));
    assertEquals(Duration.ofMillis(48_000), backoff.delay(10_000, 1));
  }

  @Test
  void recentDeliveriesForgetsLeastRecentlyUsed() {
    RecentDeliveries recent = new RecentDeliveries(2);
    recent.delivered("a", 200);
    recent.delivered("b", 204);
    assertEquals(OptionalInt.of(200), recent.statusOf("a")); // a is now the most recent
    recent.delivered("c", 201);
    assertEquals(2, recent.size());
    assertFalse(recent.statusOf("b").isPresent());
    assertEquals(OptionalInt.of(200), recent.statusOf("a"));
    assertEquals(OptionalInt.of(201), recent.statusOf("c"));
  }

  @Test
  void endpointQueuesKeepOneInFlightPerEndpoint() {
    EndpointQueues<String> queues = new EndpointQueues<>();
    assertTrue(queues.add("e1", "1"));
    assertTrue(queues.add("e2", "x"));
    assertFalse(queues.add("e1", "2"));
    assertFalse(queues.add("e1", "3"));
    assertEquals("2", queues.done("e1"));
    assertEquals("3", queues.done("e1"));
    assertNull(queues.done("e1"));
    assertEquals(1, queues.endpointsBusy());
    assertTrue(queues.add("e1", "4"));
  }

  @Test
  void statusClassification() {
    assertTrue(DeliveryAcks.forStatus("w", 204).getSuccess());
    assertTrue(DeliveryAcks.forStatus("w", 404).getPermanentFailure());
    assertTrue(DeliveryAcks.forStatus("w", 400).getPermanentFailure());
    assertFalse(DeliveryAcks.forStatus("w", 429).getPermanentFailure(), "429 asks to retry later");
    assertFalse(DeliveryAcks.forStatus("w", 408).getPermanentFailure(), "408 asks to retry later");
    assertFalse(DeliveryAcks.forStatus("w", 503).getPermanentFailure());
    assertFalse(DeliveryAcks.forStatus("w", 302).getSuccess());
    assertFalse(DeliveryAcks.forStatus("w", 302).getPermanentFailure());
  }
}
