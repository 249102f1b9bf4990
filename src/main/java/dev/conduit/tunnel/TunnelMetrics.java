package dev.conduit.tunnel;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters for GET /api/status and /metrics, updated on the hot path without locks; the Prometheus
 * metrics read them when scraped (callbacks), so relaying pays nothing for being observed.
 */
public final class TunnelMetrics {
  /** Instances with a live registered connection (set by the registry, the only writer). */
  final AtomicLong instancesOnline = new AtomicLong();
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

  /** Exposes these counters in the relay's registry (names and units in the README's metrics table). */
  public void register(PrometheusRegistry registry) {
    GaugeWithCallback.builder().name("conduit_tunnel_instances_online")
        .help("Instances with a live registered connection")
        .callback(callback -> callback.call(instancesOnline.get())).register(registry);
    GaugeWithCallback.builder().name("conduit_tunnel_sessions_open")
        .help("Client sessions currently paired with an instance")
        .callback(callback -> callback.call(openSessions.get())).register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_sessions_opened")
        .help("Client sessions paired with an instance since start")
        .callback(callback -> callback.call(sessionsOpened.sum())).register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_relayed_payload_bytes").unit(Unit.BYTES)
        .help("Payload bytes relayed between clients and instances, both directions (base64 characters)")
        .callback(callback -> callback.call(bytesRelayed.sum())).register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_relayed_frames")
        .help("Data frames relayed between clients and instances, both directions")
        .callback(callback -> callback.call(framesRelayed.sum())).register(registry);
  }
}
