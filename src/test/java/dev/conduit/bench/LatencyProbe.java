package dev.conduit.bench;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * One session's round-trip meter: at each tick it sends a small frame unless the last one is still
 * out, and records the time until the echo comes back (the load generator's clock only).
 */
final class LatencyProbe {
  private volatile Function<String, CompletableFuture<?>> sender;
  private final String frame;
  private final ConcurrentLinkedQueue<Long> samples;
  private volatile long sentAt;
  private volatile boolean outstanding;
  private volatile boolean recording;
  private volatile long skipped;

  LatencyProbe(String frame, ConcurrentLinkedQueue<Long> samples) {
    this.frame = frame;
    this.samples = samples;
  }

  /** The socket this probe sends on, once it is open. */
  void bind(Function<String, CompletableFuture<?>> sender) {
    this.sender = sender;
  }

  void tick() {
    if (outstanding) {
      if (recording) {
        skipped++;
      }
      return;
    }
    outstanding = true;
    sentAt = System.nanoTime();
    sender.apply(frame);
  }

  /** The echo arrived. */
  void onEcho() {
    long rtt = System.nanoTime() - sentAt;
    if (recording) {
      samples.add(rtt);
    }
    outstanding = false;
  }

  void recording(boolean on) {
    recording = on;
  }

  long skipped() {
    return skipped;
  }
}
