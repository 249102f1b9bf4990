package dev.conduit.hub.client;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of a running hub client, for tests, benchmarks and metrics. Thread-safe. */
public final class HubClientStats {
  private final AtomicLong connectAttempts = new AtomicLong();
  private final AtomicLong connects = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong duplicatesSkipped = new AtomicLong();

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
        + delivered() + ", failed=" + failed() + ", duplicatesSkipped=" + duplicatesSkipped() + "]";
  }
}
