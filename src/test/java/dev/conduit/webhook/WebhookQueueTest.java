package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.conduit.webhook.DeliveryStatus;
import dev.conduit.webhook.EndpointState.Webhook;
import dev.conduit.webhook.signature.Verdict;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class WebhookQueueTest {
  private static Webhook webhook(String id) {
    return new Webhook(id, 1, Instant.EPOCH, Instant.EPOCH, Verdict.UNSIGNED, DeliveryStatus.RECEIVED, 0, null, null, null);
  }

  private static List<String> ids(List<Webhook> queue) {
    return queue.stream().map(Webhook::id).toList();
  }

  @Test
  void olderVersionsNeverChange() {
    WebhookQueue one = WebhookQueue.EMPTY.append(webhook("a"));
    WebhookQueue two = one.append(webhook("b"));
    WebhookQueue branch = one.append(webhook("c"));
    WebhookQueue headChanged = two.with(0, w -> w.with(DeliveryStatus.DISPATCHED, 1, null, null, null));
    WebhookQueue headRemoved = headChanged.without(0).append(webhook("d"));
    assertEquals(List.of("a"), ids(one));
    assertEquals(List.of("a", "b"), ids(two));
    assertEquals(List.of("a", "c"), ids(branch));
    assertEquals(DeliveryStatus.RECEIVED, two.get(0).status());
    assertEquals(DeliveryStatus.DISPATCHED, headChanged.get(0).status());
    assertEquals(List.of("b", "d"), ids(headRemoved));
    assertEquals(List.of("a", "b"), ids(headChanged));
  }

  @Test
  void changesInTheMiddleAndLookups() {
    WebhookQueue queue = WebhookQueue.EMPTY;
    for (int i = 0; i < 100; i++) {
      queue = queue.append(webhook("w" + i));
    }
    WebhookQueue without = queue.without(50).with(10, w -> w.with(DeliveryStatus.RETRYING, 2, null, 500, "x"));
    assertEquals(100, queue.size());
    assertEquals(99, without.size());
    assertEquals(-1, without.positionOf("w50"));
    assertEquals(50, without.positionOf("w51"));
    assertEquals(DeliveryStatus.RETRYING, without.get(10).status());
    assertEquals(DeliveryStatus.RECEIVED, queue.get(10).status());
    assertEquals(queue.subList(0, 10), without.subList(0, 10));
  }
}
