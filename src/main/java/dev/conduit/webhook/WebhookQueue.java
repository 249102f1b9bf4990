package dev.conduit.webhook;

import dev.conduit.webhook.EndpointState.Webhook;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;
import java.util.function.Function;

/**
 * An endpoint's queue as an immutable list whose usual changes cost O(1) instead of a copy of the whole
 * queue: append at the tail (a new webhook), replace the head (dispatched, retry scheduled) and remove the
 * head (delivered, failed). The rare changes elsewhere in the queue (dead letters) copy it.
 *
 * <p>Versions share one append-only array: a version appends in place only when nobody appended after
 * its last element yet (single writer: the entity), so older versions, e.g. one a snapshot is being
 * serialized from on another thread, never see their elements change. The head, when replaced, lives in
 * its own field for the same reason. Serialized like any list (a JSON array), so snapshots are unchanged.
 */
final class WebhookQueue extends AbstractList<Webhook> implements RandomAccess {
  static final WebhookQueue EMPTY = new WebhookQueue(new Shared(new Webhook[0]), 0, 0, null);

  /** The array versions share, and how far it is filled (a version may append in place only at that end). */
  private static final class Shared {
    final Webhook[] items;
    int filled;

    Shared(Webhook[] items) {
      this.items = items;
    }
  }

  private final Shared shared;
  private final int from;
  private final int to;
  /** Replaces shared.items[from] when not null. */
  private final Webhook head;

  private WebhookQueue(Shared shared, int from, int to, Webhook head) {
    this.shared = shared;
    this.from = from;
    this.to = to;
    this.head = head;
  }

  static WebhookQueue of(List<Webhook> webhooks) {
    if (webhooks instanceof WebhookQueue queue) {
      return queue;
    }
    Shared shared = new Shared(webhooks.toArray(new Webhook[0]));
    shared.filled = shared.items.length;
    return new WebhookQueue(shared, 0, shared.filled, null);
  }

  @Override
  public Webhook get(int index) {
    if (index < 0 || index >= size()) {
      throw new IndexOutOfBoundsException(index);
    }
    return index == 0 && head != null ? head : shared.items[from + index];
  }

  @Override
  public int size() {
    return to - from;
  }

  /** Position of the webhook with this id, or -1; the head (the usual case) is checked first. */
  int positionOf(String id) {
    for (int i = 0; i < size(); i++) {
      if (get(i).id().equals(id)) {
        return i;
      }
    }
    return -1;
  }

  WebhookQueue append(Webhook webhook) {
    if (to == shared.filled && to < shared.items.length) {
      shared.items[to] = webhook;
      shared.filled = to + 1;
      return new WebhookQueue(shared, from, to + 1, head);
    }
    // Full, or another version appended after this one: copy this version's elements, with room to grow.
    Shared copy = new Shared(Arrays.copyOf(toArray(new Webhook[0]), Math.max(16, size() * 2)));
    copy.items[size()] = webhook;
    copy.filled = size() + 1;
    return new WebhookQueue(copy, 0, copy.filled, null);
  }

  WebhookQueue with(int index, Function<Webhook, Webhook> change) {
    Webhook changed = change.apply(get(index));
    if (index == 0) {
      return new WebhookQueue(shared, from, to, changed);
    }
    Webhook[] items = toArray(new Webhook[0]);
    items[index] = changed;
    return of(Arrays.asList(items));
  }

  WebhookQueue without(int index) {
    if (index == 0) {
      return new WebhookQueue(shared, from + 1, to, null);
    }
    Webhook[] items = toArray(new Webhook[0]);
    Webhook[] rest = new Webhook[items.length - 1];
    System.arraycopy(items, 0, rest, 0, index);
    System.arraycopy(items, index + 1, rest, index, items.length - index - 1);
    return of(Arrays.asList(rest));
  }
}
