package dev.conduit.hub;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The hub side's Prometheus metrics (names, types and units in the README's metrics table): hubs with a
 * live authenticated stream, streams a newer connection of the same hub replaced, and streams evicted for
 * silence (stale-timeout). No hub ids as labels: per-hub detail is in GET /api/hubs.
 */
public final class HubMetrics {
  private final AtomicInteger connected = new AtomicInteger();
  private final Counter replacements = Counter.builder().name("conduit_hub_replacements")
      .help("Hub streams replaced by a newer authenticated stream of the same hub id").build();
  private final Counter evictions = Counter.builder().name("conduit_hub_evictions")
      .help("Hub streams closed because the hub sent nothing for stale-timeout").build();

  /** The registry's count of hubs with a live stream changed. */
  void connected(int hubs) {
    connected.set(hubs);
  }

  void replaced() {
    replacements.inc();
  }

  void evicted() {
    evictions.inc();
  }

  /** Exposes these metrics in the relay's registry. */
  public void register(PrometheusRegistry registry) {
    GaugeWithCallback.builder().name("conduit_hubs_connected")
        .help("Configured hubs with a live authenticated stream")
        .callback(callback -> callback.call(connected.get())).register(registry);
    registry.register(replacements);
    registry.register(evictions);
  }
}
