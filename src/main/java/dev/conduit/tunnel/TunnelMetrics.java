package dev.conduit.tunnel;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Counters for GET /api/status, updated on the hot path without locks. */
public final class TunnelMetrics {
  final AtomicLong openSessions = new AtomicLong();
  final LongAdder sessionsOpened = new LongAdder();
  /** Payload bytes (base64 characters) relayed in both directions. */
  final LongAdder bytesRelayed = new LongAdder();
  final LongAdder framesRelayed = new LongAdder();

  public long openSessions() {
    return openSessions.get();
  }

  public long sessionsOpened() {
    return sessionsOpened.sum();
  }

  public long bytesRelayed() {
    return bytesRelayed.sum();
  }

  public long framesRelayed() {
    return framesRelayed.sum();
  }
}
