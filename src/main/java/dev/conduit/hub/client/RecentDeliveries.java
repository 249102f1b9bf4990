package dev.conduit.hub.client;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Bounded LRU memory of webhook ids delivered successfully, with the destination's status code, so that a
 * redelivery is acknowledged without POSTing again. Not thread-safe: owned by the hub client actor.
 */
final class RecentDeliveries {
  private final int maxSize;
  // Insertion order; a hit is re-inserted to move it to the young end.
  private final Map<String, Integer> statusById = new LinkedHashMap<>();

  RecentDeliveries(int maxSize) {
    this.maxSize = maxSize;
  }

  OptionalInt statusOf(String webhookId) {
    Integer status = statusById.remove(webhookId);
    if (status == null) {
      return OptionalInt.empty();
    }
    statusById.put(webhookId, status);
    return OptionalInt.of(status);
  }

  void delivered(String webhookId, int status) {
    statusById.remove(webhookId);
    statusById.put(webhookId, status);
    if (statusById.size() > maxSize) {
      Iterator<String> eldest = statusById.keySet().iterator();
      eldest.next();
      eldest.remove();
    }
  }

  int size() {
    return statusById.size();
  }
}
