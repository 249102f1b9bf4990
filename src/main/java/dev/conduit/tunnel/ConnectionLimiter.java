package dev.conduit.tunnel;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Counts open tunnel WebSockets per IP address and refuses those over the limit. Thread-safe. */
public final class ConnectionLimiter {
  private final int maxPerIp;
  private final Map<String, Integer> open = new ConcurrentHashMap<>();

  public ConnectionLimiter(int maxPerIp) {
    this.maxPerIp = maxPerIp;
  }

  public boolean tryAcquire(String ip) {
    boolean[] acquired = {false};
    open.compute(ip, (k, count) -> {
      int current = count == null ? 0 : count;
      if (current >= maxPerIp) {
        return count;
      }
      acquired[0] = true;
      return current + 1;
    });
    return acquired[0];
  }

  public void release(String ip) {
    open.computeIfPresent(ip, (k, count) -> count <= 1 ? null : count - 1);
  }

  /** Open sockets from every address. */
  public int openTotal() {
    return open.values().stream().mapToInt(Integer::intValue).sum();
  }

  int openFrom(String ip) {
    return open.getOrDefault(ip, 0);
  }
}
