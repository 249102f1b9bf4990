package dev.conduit.hub.client;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Keeps deliveries of one endpoint in arrival order with at most one in flight, while different endpoints
 * proceed independently. Not thread-safe: owned by the hub client actor.
 */
final class EndpointQueues<T> {
  // An endpoint is present while one of its items is in flight; the deque holds the ones waiting behind it.
  private final Map<String, ArrayDeque<T>> waiting = new HashMap<>();

  /** Returns true if the item may start now; otherwise it waits for its predecessors. */
  boolean add(String endpointId, T item) {
    ArrayDeque<T> queue = waiting.get(endpointId);
    if (queue == null) {
      waiting.put(endpointId, new ArrayDeque<>());
      return true;
    }
    queue.addLast(item);
    return false;
  }

  /** Marks the endpoint's in-flight item done; returns the next one to start (now in flight), or null. */
  T done(String endpointId) {
    ArrayDeque<T> queue = waiting.get(endpointId);
    if (queue == null) {
      return null;
    }
    T next = queue.pollFirst();
    if (next == null) {
      waiting.remove(endpointId);
    }
    return next;
  }

  int endpointsBusy() {
    return waiting.size();
  }
}
