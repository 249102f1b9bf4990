package dev.conduit.tunnel;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A token bucket per IP address for the expensive requests (register, connect, create_claim).
 * Shared by every connection's actor, hence thread-safe; full buckets are dropped to bound memory.
 */
public final class RateLimiter {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** Above this many tracked addresses, buckets that have refilled completely are forgotten. */
  private static final int SWEEP_ABOVE = 10_000;

  private final double burst;
  private final double perNano;
  private final LongSupplier nanoTime;
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

  public RateLimiter(int burst, double perSecond, LongSupplier nanoTime) {
    this.burst = burst;
    this.perNano = perSecond / NANOS_PER_SECOND;
    this.nanoTime = nanoTime;
  }

  /** Takes one token for ip; false when its bucket is empty. */
  public boolean tryAcquire(String ip) {
    long now = nanoTime.getAsLong();
    if (buckets.size() > SWEEP_ABOVE) {
      buckets.values().removeIf(bucket -> bucket.isFull(now));
    }
    return buckets.computeIfAbsent(ip, k -> new Bucket(burst, now)).take(now);
  }

  private final class Bucket {
    private double tokens;
    private long updated;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.updated = now;
    }

    synchronized boolean take(long now) {
      refill(now);
      if (tokens < 1) {
        return false;
      }
      tokens -= 1;
      return true;
    }

    synchronized boolean isFull(long now) {
      refill(now);
      return tokens >= burst;
    }

    private void refill(long now) {
      tokens = Math.min(burst, tokens + (now - updated) * perNano);
      updated = now;
    }
  }
}
