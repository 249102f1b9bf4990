package dev.conduit.metrics;

import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The relay's Prometheus registry: JVM and process metrics (heap, GC pauses, threads, open file
 * descriptors against the limit) from the client library's own instrumentation, plus what each feature
 * registers. One per relay, not the library's global default, so that several relays in one JVM (the
 * tests) each expose their own figures.
 */
public final class Metrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();

  public Metrics() {
    JvmMetrics.builder().register(registry);
  }

  public PrometheusRegistry registry() {
    return registry;
  }
}
