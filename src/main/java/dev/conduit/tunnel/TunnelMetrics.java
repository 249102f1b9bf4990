package dev.conduit.tunnel;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
  /** Payload bytes (base64 characters) and data frames relayed, by direction (index: Direction.ordinal). */
  private final LongAdder[] bytesRelayed = {new LongAdder(), new LongAdder()};
  private final LongAdder[] framesRelayed = {new LongAdder(), new LongAdder()};
  /**
   * Counts by reason or error code. Keys are our own constants (close reasons, error frame codes), never
   * peer input, so the label sets stay bounded.
   */
  private final Map<String, LongAdder> sessionsClosed = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> registrationsRefused = new ConcurrentHashMap<>();
  private final Map<SideCode, LongAdder> framesRefused = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> slowConsumerCloses = new ConcurrentHashMap<>();

  /** Which way a data frame went. */
  public enum Direction { TO_INSTANCE, TO_CLIENT }

  /** Which socket a slow-consumer close or a refused frame concerns. */
  public enum Side { CLIENT, INSTANCE }

  /** The labels of conduit_tunnel_frames_refused. */
  private record SideCode(Side side, String code) {}

  /** One data frame of payloadBytes (base64 characters) relayed toward direction. */
  void relayed(Direction direction, long payloadBytes) {
    bytesRelayed[direction.ordinal()].add(payloadBytes);
    framesRelayed[direction.ordinal()].increment();
  }

  /** A paired session ended; reason is the close reason logged with it (e.g. client_closed). */
  void sessionClosed(String reason) {
    sessionsClosed.computeIfAbsent(reason, k -> new LongAdder()).increment();
  }

  /** A register was refused with an error frame of this code (one of ours: a bounded label). */
  void registrationRefused(String code) {
    registrationsRefused.computeIfAbsent(code, k -> new LongAdder()).increment();
  }

  /** A frame from side was refused with an error frame of this code (one of ours: a bounded label). */
  void frameRefused(Side side, String code) {
    framesRefused.computeIfAbsent(new SideCode(side, code), k -> new LongAdder()).increment();
  }

  /** A socket on side was closed because it did not read. */
  void slowConsumerClosed(Side side) {
    slowConsumerCloses.computeIfAbsent(label(side), k -> new LongAdder()).increment();
  }

  public long openSessions() {
    return openSessions.get();
  }

  public long sessionsOpened() {
    return sessionsOpened.sum();
  }

  /** Both directions. */
  public long bytesRelayed() {
    return bytesRelayed[0].sum() + bytesRelayed[1].sum();
  }

  /** Both directions. */
  public long framesRelayed() {
    return framesRelayed[0].sum() + framesRelayed[1].sum();
  }

  /** One sample per direction, labelled with its wire name. */
  private static void byDirection(LongAdder[] perDirection, CounterWithCallback.Callback callback) {
    for (Direction d : Direction.values()) {
      callback.call(perDirection[d.ordinal()].sum(), label(d));
    }
  }

  private static String label(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
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
        .help("Payload bytes relayed between clients and instances (base64 characters), by direction")
        .labelNames("direction")
        .callback(callback -> byDirection(bytesRelayed, callback)).register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_relayed_frames")
        .help("Data frames relayed between clients and instances, by direction")
        .labelNames("direction")
        .callback(callback -> byDirection(framesRelayed, callback)).register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_sessions_closed")
        .help("Paired sessions ended, by close reason").labelNames("reason")
        .callback(callback -> sessionsClosed.forEach((reason, n) -> callback.call(n.sum(), reason)))
        .register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_registrations_refused")
        .help("Instance registrations refused, by error code").labelNames("code")
        .callback(callback -> registrationsRefused.forEach((code, n) -> callback.call(n.sum(), code)))
        .register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_frames_refused")
        .help("Frames refused with an error frame, by socket side and error code").labelNames("side", "code")
        .callback(callback -> framesRefused.forEach((key, n) -> callback.call(n.sum(), label(key.side()), key.code())))
        .register(registry);
    CounterWithCallback.builder().name("conduit_tunnel_slow_consumer_closes")
        .help("Sockets closed because they did not read their queue, by side").labelNames("side")
        .callback(callback -> slowConsumerCloses.forEach((side, n) -> callback.call(n.sum(), side)))
        .register(registry);
  }
}
