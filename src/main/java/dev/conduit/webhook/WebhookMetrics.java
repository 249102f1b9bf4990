package dev.conduit.webhook;

import dev.conduit.webhook.signature.Verdict;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The webhook relay's Prometheus metrics (names, types and units in the README's metrics table). Every
 * method is one call from the place that knows the fact (ingest route, endpoint entity), thread-safe and
 * lock-free on the hot path. Labels stay bounded: the signature verdict, and endpoint ids only for the
 * {@code topEndpoints} deepest queues (endpoints are created by the operator, never by senders).
 */
public final class WebhookMetrics {
  /** Ingest and table writes: 1 ms to 10 s (the ingest timeout's order). */
  private static final double[] SHORT_SECONDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  /** Receipt to the hub's ACK: includes retries and hub outages, so up to a day. */
  private static final double[] LONG_SECONDS = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
      21600, 86400};
  private static final double NANOS_PER_SECOND = 1e9;
  /** Rows per group commit: 1 up to the largest write-batch-max one would set. */
  private static final double[] BATCH_ROWS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000};

  private final int topEndpoints;
  private final Counter received = Counter.builder().name("conduit_webhook_received")
      .help("Webhooks stored and answered 2xx, by the endpoint's signature verdict (verified, invalid, unsigned)")
      .labelNames("signature").build();
  private final Counter delivered = Counter.builder().name("conduit_webhook_delivered")
      .help("Webhooks the hub acknowledged as delivered").build();
  private final Counter failed = Counter.builder().name("conduit_webhook_failed")
      .help("Webhooks failed for good (permanent failure at the destination, or endpoint deleted)").build();
  private final Counter deadLettered = Counter.builder().name("conduit_webhook_dead_lettered")
      .help("Webhooks dead-lettered: not delivered within dead-letter-after").build();
  private final Histogram ingestLatency = Histogram.builder().name("conduit_webhook_ingest_duration_seconds")
      .unit(Unit.SECONDS).help("POST /h/{id}: from the request's head to the 2xx (body read, verified, committed)")
      .classicOnly().classicUpperBounds(SHORT_SECONDS).build();
  private final Histogram ingestToAck = Histogram.builder().name("conduit_webhook_ingest_to_ack_seconds")
      .unit(Unit.SECONDS).help("From a webhook's receipt (or its replay) to the hub's ACK of its delivery")
      .classicOnly().classicUpperBounds(LONG_SECONDS).build();
  private final Histogram journalWrite = Histogram.builder().name("conduit_webhook_journal_write_seconds")
      .unit(Unit.SECONDS).help("One write an endpoint entity waits for, group commit included: a batch of received webhooks, or a retry, failure or requeue (taken and delivered statuses ride along with later commits unwaited)")
      .classicOnly().classicUpperBounds(SHORT_SECONDS).build();
  private final Histogram commit = Histogram.builder().name("conduit_webhook_commit_seconds")
      .unit(Unit.SECONDS).help("One group-commit transaction of the webhooks table (connection, batch, commit)")
      .classicOnly().classicUpperBounds(SHORT_SECONDS).build();
  private final Histogram commitRows = Histogram.builder().name("conduit_webhook_commit_rows")
      .help("Row writes (inserts and updates, all endpoints) carried by one group-commit transaction")
      .classicOnly().classicUpperBounds(BATCH_ROWS).build();
  /** Queued webhooks per endpoint whose entity has a non-empty queue. */
  private final Map<String, Integer> queueDepths = new ConcurrentHashMap<>();

  /** @param topEndpoints how many of the deepest endpoint queues get their own series (0: none) */
  public WebhookMetrics(int topEndpoints) {
    this.topEndpoints = topEndpoints;
  }

  /** A webhook was stored and its sender answered 2xx; startedNanos is {@link System#nanoTime} at the request head. */
  public void ingested(Verdict verdict, long startedNanos) {
    received.labelValues(verdict.name().toLowerCase(Locale.ROOT)).inc();
    ingestLatency.observe(secondsSince(startedNanos));
  }

  /** The hub acknowledged a delivery; sinceQueued is from receipt (or replay) to the ACK. */
  public void delivered(Duration sinceQueued) {
    delivered.inc();
    ingestToAck.observe(sinceQueued.toNanos() / NANOS_PER_SECOND);
  }

  public void failed(int count) {
    failed.inc(count);
  }

  public void deadLettered(int count) {
    deadLettered.inc(count);
  }

  /** A group commit of rows that started at startedNanos ({@link System#nanoTime}) ended (committed or not). */
  public void committed(int rows, long startedNanos) {
    commit.observe(secondsSince(startedNanos));
    commitRows.observe(rows);
  }

  /** An entity's write that started at startedNanos ({@link System#nanoTime}) completed. */
  public void journalWritten(long startedNanos) {
    journalWrite.observe(secondsSince(startedNanos));
  }

  /** The endpoint's queue now holds depth webhooks (called on every change, including recovery). */
  public void queueDepth(String endpointId, int depth) {
    if (depth == 0) {
      queueDepths.remove(endpointId);
    } else {
      queueDepths.put(endpointId, depth);
    }
  }

  /** Total queued webhooks over all endpoints. */
  public long queuedTotal() {
    return queueDepths.values().stream().mapToLong(Integer::longValue).sum();
  }

  /** Exposes these metrics in the relay's registry. */
  public void register(PrometheusRegistry registry) {
    registry.register(received);
    registry.register(delivered);
    registry.register(failed);
    registry.register(deadLettered);
    registry.register(ingestLatency);
    registry.register(ingestToAck);
    registry.register(journalWrite);
    registry.register(commit);
    registry.register(commitRows);
    GaugeWithCallback.builder().name("conduit_webhook_queued")
        .help("Webhooks queued for delivery (received, dispatched or retrying), all endpoints")
        .callback(callback -> callback.call(queuedTotal())).register(registry);
    GaugeWithCallback.builder().name("conduit_webhook_endpoint_queued")
        .help("Webhooks queued for delivery at each of the endpoints with the deepest queues (top "
            + topEndpoints + ", conduit.metrics.top-endpoints)")
        .labelNames("endpoint")
        .callback(callback -> queueDepths.entrySet().stream()
            .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                .thenComparing(Map.Entry.comparingByKey()))
            .limit(topEndpoints)
            .forEach(e -> callback.call(e.getValue(), e.getKey())))
        .register(registry);
  }

  private static double secondsSince(long startedNanos) {
    return (System.nanoTime() - startedNanos) / NANOS_PER_SECOND;
  }
}
