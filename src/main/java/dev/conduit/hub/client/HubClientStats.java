package dev.conduit.hub.client;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Counters of a running hub client, for tests, benchmarks and metrics. Thread-safe. */
public final class HubClientStats {
  private final AtomicLong connectAttempts = new AtomicLong();
  private final AtomicLong connects = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong duplicatesSkipped = new AtomicLong();
  private final AtomicLong replacements = new AtomicLong();
  /** How many reconnect delays are remembered: enough to see a backoff reach its cap, bounded memory. */
  private static final int RECENT_DELAYS = 64;
  private final Deque<Reconnect> recentReconnects = new ArrayDeque<>();

  /** A reconnect the client scheduled: after how long, and whether the edge had replaced its stream. */
  public record Reconnect(Duration delay, boolean afterReplacement) {}

  /** Streams opened towards the edge (each sends a connect). */
  public long connectAttempts() {
    return connectAttempts.get();
  }

  /** Connects the edge accepted. */
  public long connects() {
    return connects.get();
  }

  /** Webhooks POSTed with a 2xx answer. */
  public long delivered() {
    return delivered.get();
  }

  /** Webhooks whose POST failed (non-2xx, timeout, connection error, bad destination). */
  public long failed() {
    return failed.get();
  }

  /** Redeliveries of already delivered webhooks, acknowledged without POSTing. */
  public long duplicatesSkipped() {
    return duplicatesSkipped.get();
  }

  /** Streams the edge ended because a newer connection with the same hub id took over. */
  public long replacements() {
    return replacements.get();
  }

  /** The last reconnects scheduled (up to 64), oldest first. */
  public List<Reconnect> recentReconnects() {
    synchronized (recentReconnects) {
      return List.copyOf(recentReconnects);
    }
  }

  void replaced() {
    replacements.incrementAndGet();
  }

  void reconnectScheduled(Duration delay, boolean afterReplacement) {
    synchronized (recentReconnects) {
      if (recentReconnects.size() == RECENT_DELAYS) {
        recentReconnects.removeFirst();
      }
      recentReconnects.addLast(new Reconnect(delay, afterReplacement));
    }
  }

  private volatile String lastStreamEnd;

  /** Why the last stream ended or failed to open, as logged (null before any ended). */
  public String lastStreamEnd() {
    return lastStreamEnd;
  }

  void streamEnded(String reason) {
    lastStreamEnd = reason;
  }

  void connectAttempt() {
    connectAttempts.incrementAndGet();
  }

  void connected() {
    connects.incrementAndGet();
  }

  void delivered(boolean success) {
    (success ? delivered : failed).incrementAndGet();
  }

  void duplicateSkipped() {
    duplicatesSkipped.incrementAndGet();
  }

  @Override
  public String toString() {
    return "HubClientStats[connectAttempts=" + connectAttempts() + ", connects=" + connects() + ", delivered="
        + delivered() + ", failed=" + failed() + ", duplicatesSkipped=" + duplicatesSkipped() + ", replacements="
        + replacements() + "]";
  }
}
