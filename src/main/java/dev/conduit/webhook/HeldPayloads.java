package dev.conduit.webhook;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The payloads (Received events) of queued webhooks that an endpoint entity still holds in memory since
 * their ingest, up to maxBytes in all, so that reaching the head of the queue costs no journal read. When
 * full, new payloads are not kept (they are read back when their turn comes): the queue is delivered
 * oldest first, so the payloads held are the ones needed soonest. Not thread-safe (one entity's state);
 * transient (empty after a restart). Sizes count body and header bytes (the bulk of a webhook).
 */
final class HeldPayloads {
  private final long maxBytes;
  private final Map<String, WebhookEvent.Received> held = new HashMap<>();
  private long bytes;

  /** @param maxBytes total body and header bytes held; 0 holds none */
  HeldPayloads(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** Holds the payload if it fits; false when it did not (it must be read back later). */
  boolean hold(WebhookEvent.Received payload) {
    long size = sizeOf(payload);
    if (held.containsKey(payload.webhookId()) || bytes + size > maxBytes) {
      return held.containsKey(payload.webhookId());
    }
    held.put(payload.webhookId(), payload);
    bytes += size;
    return true;
  }

  Optional<WebhookEvent.Received> get(String webhookId) {
    return Optional.ofNullable(held.get(webhookId));
  }

  /** Forgets the payload of a webhook that left the queue (delivered, failed, dead-lettered). */
  void release(String webhookId) {
    WebhookEvent.Received removed = held.remove(webhookId);
    if (removed != null) {
      bytes -= sizeOf(removed);
    }
  }

  long bytes() {
    return bytes;
  }

  static long sizeOf(WebhookEvent.Received payload) {
    long size = payload.body().length;
    for (Map.Entry<String, String> header : payload.headers().entrySet()) {
      size += header.getKey().length() + header.getValue().length();
    }
    return size;
  }
}
