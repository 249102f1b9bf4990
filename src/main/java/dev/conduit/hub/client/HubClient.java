package dev.conduit.hub.client;

import dev.conduit.retry.Backoff;
import dev.conduit.hub.HubConnection;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import io.grpc.Status;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;

/**
 * The home side of the webhook relay: keeps one authenticated {@code RelayService/Stream} to the edge open
 * (heartbeats, staleness detection, reconnect with backoff), POSTs the webhooks it receives to their
 * destinations (in order per endpoint, concurrently across endpoints) and acknowledges each one.
 *
 * <p>Every stream gets a new generation number; messages, stream ends and acks of an older generation are
 * ignored. An ack whose stream is gone is dropped: the edge redelivers, and a webhook that did get through
 * is then acknowledged from {@link RecentDeliveries} without a second POST.
 */
public final class HubClient extends AbstractBehavior<HubClient.Command> {

  public sealed interface Command {}

  /**
   * Stops gracefully: no new POST starts (webhooks not started are not acknowledged; the edge redelivers),
   * POSTs in flight may finish and be acknowledged within half of stop-timeout, then the stream is
   * half-closed and its end awaited (the rest of stop-timeout), then the client stops and answers Done.
   * Also run on JVM shutdown (SIGTERM), through CoordinatedShutdown.
   */
  public record Stop(ActorRef<Done> replyTo) implements Command {}

  /** The POSTs in flight had their time: close the stream now. */
  private record DrainTimeout() implements Command {}

  /** The stream ended after finish(), or its time to end was up. */
  private record Finished() implements Command {}

  private record Connect() implements Command {}

  private record FromEdge(long generation, StreamResponse message) implements Command {}

  /** replaced: the edge ended the stream because a newer connection with this hub id took over. */
  private record StreamEnded(long generation, String reason, boolean replaced) implements Command {}

  private record SendHeartbeat() implements Command {}

  private record Stale(long generation) implements Command {}

  private record Pending(long generation, WebhookEnvelope envelope) {}

  private record Delivered(Pending pending, DeliveryAck ack) implements Command {}

  private static final Object RECONNECT_TIMER = "reconnect";
  private static final Object HEARTBEAT_TIMER = "heartbeat";
  private static final Object STALE_TIMER = "stale";
  private static final Object STOP_TIMER = "stop";
  private static final AtomicLong INSTANCES = new AtomicLong();

  private final HubClientSettings settings;
  private final HubClientStats stats;
  private final TimerScheduler<Command> timers;
  private final Logger log;
  private final Backoff backoff;
  private final WebhookPoster poster;
  private final EndpointQueues<Pending> queues = new EndpointQueues<>();
  private final RecentDeliveries recent;

  private EdgeConnection connection; // null between streams
  private long generation;
  private boolean connected;
  private int failedAttempts;
  /** Replacements without a stream ending otherwise in between; unlike failedAttempts, a connect keeps it. */
  private int replacedInARow;
  private long lastTimestamp;
  /** POSTs started and not yet delivered. */
  private int inFlight;
  /** Who asked to stop; empty while running. */
  private final java.util.List<ActorRef<Done>> stopping = new java.util.ArrayList<>();
  private boolean finishing;

  /** Starts a hub client under {@code system}; fails fast if the secret file cannot be read. */
  public static RunningHubClient start(ActorSystem<?> system, HubClientSettings settings) throws IOException {
    settings.readSecret();
    HubClientStats stats = new HubClientStats();
    ActorRef<Command> ref = system.systemActorOf(create(settings, stats),
        "hub-client-" + INSTANCES.incrementAndGet(), Props.empty());
    // On SIGTERM (the JVM shutdown hook runs CoordinatedShutdown) the client stops as Stop says, before the
    // actor system terminates (HubCommand gives the phase stop-timeout and a margin).
    RunningHubClient running = new RunningHubClient(system, ref, stats, settings.stopTimeout());
    org.apache.pekko.actor.CoordinatedShutdown.get(system).addTask(
        org.apache.pekko.actor.CoordinatedShutdown.PhaseServiceRequestsDone(), "stop-" + ref.path().name(),
        running::stop);
    return running;
  }

  public static Behavior<Command> create(HubClientSettings settings, HubClientStats stats) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      context.getSelf().tell(new Connect());
      return new HubClient(context, timers, settings, stats);
    }));
  }

  private HubClient(ActorContext<Command> context, TimerScheduler<Command> timers, HubClientSettings settings,
                    HubClientStats stats) {
    super(context);
    this.settings = settings;
    this.stats = stats;
    this.timers = timers;
    this.log = context.getLog();
    this.backoff = new Backoff(settings.backoffMin(), settings.backoffMax(), settings.backoffJitter());
    this.poster = new WebhookPoster(settings.requestTimeout());
    this.recent = new RecentDeliveries(settings.dedupeSize());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Connect.class, c -> onConnect())
        .onMessage(FromEdge.class, this::onFromEdge)
        .onMessage(StreamEnded.class, this::onStreamEnded)
        .onMessage(Stale.class, this::onStale)
        .onMessage(SendHeartbeat.class, h -> onSendHeartbeat())
        .onMessage(Delivered.class, this::onDelivered)
        .onMessage(Stop.class, this::onStop)
        .onMessage(DrainTimeout.class, t -> finish())
        .onMessage(Finished.class, f -> onFinished())
        .onSignal(PostStop.class, s -> {
          closeStream(); // e.g. the actor system is terminating
          poster.close();
          return this;
        })
        .build();
  }

  private Behavior<Command> onConnect() {
    if (connection != null || !stopping.isEmpty()) {
      return this;
    }
    String secret;
    try {
      secret = settings.readSecret(); // a few bytes from a local file; cheap enough to read on the actor
    } catch (IOException e) {
      log.warn("hub secret unreadable file={} cause={} reconnect_in_ms={}", settings.secretFile(),
          DeliveryAcks.describe(e), scheduleReconnect().toMillis());
      return this;
    }
    long gen = ++generation;
    ActorRef<Command> self = getContext().getSelf();
    try {
      connection = EdgeConnection.open(getContext().getSystem(), settings, m -> self.tell(new FromEdge(gen, m)));
    } catch (RuntimeException e) {
      log.warn("edge stream not opened edge={} cause={} reconnect_in_ms={}", settings.edgeUrl(),
          DeliveryAcks.describe(e), scheduleReconnect().toMillis());
      return this;
    }
    stats.connectAttempt();
    getContext().pipeToSelf(connection.terminated(), (done, failure) -> new StreamEnded(gen,
        failure == null ? "the edge closed the stream" : describeEnd(failure, settings), isReplacement(failure)));
    long timestamp = nextTimestamp();
    connection.send(StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder()
        .setHubId(settings.hubId())
        .setTimestamp(timestamp)
        .setSignature(HubSignature.sign(settings.hubId(), timestamp, secret))).build());
    // Also bounds the wait for the connect response.
    timers.startSingleTimer(STALE_TIMER, new Stale(gen), settings.staleTimeout());
    log.debug("connecting edge={} hub={}", settings.edgeUrl(), settings.hubId());
    return this;
  }

  /**
   * The edge refuses a signature it has seen before, and timestamps have whole-second precision, so two
   * connects within one second must not share a timestamp. Running a little ahead is harmless: the edge
   * allows minutes of skew, and backoff keeps attempts at least a second apart in practice.
   */
  private long nextTimestamp() {
    lastTimestamp = Math.max(Instant.now().getEpochSecond(), lastTimestamp + 1);
    return lastTimestamp;
  }

  private Behavior<Command> onFromEdge(FromEdge message) {
    if (!isCurrent(message.generation())) {
      return this;
    }
    timers.startSingleTimer(STALE_TIMER, new Stale(message.generation()), settings.staleTimeout());
    StreamResponse response = message.message();
    switch (response.getMessageCase()) {
      case CONNECT_RESPONSE -> onConnectResponse(response.getConnectResponse().getSuccess(),
          response.getConnectResponse().getError());
      case WEBHOOK -> onWebhook(new Pending(message.generation(), response.getWebhook()));
      case HEARTBEAT -> log.debug("Heartbeat from the edge ({})", response.getHeartbeat().getTimestamp());
      case MESSAGE_NOT_SET -> log.debug("Ignoring an empty message from the edge");
    }
    return this;
  }

  private void onConnectResponse(boolean success, String error) {
    if (connected) {
      log.debug("Ignoring a repeated connect response");
    } else if (success) {
      connected = true;
      failedAttempts = 0;
      stats.connected();
      timers.startTimerWithFixedDelay(HEARTBEAT_TIMER, new SendHeartbeat(), settings.heartbeatInterval());
      log.info("hub connected edge={} hub={}", settings.edgeUrl(), settings.hubId());
    } else {
      closeConnection();
      log.warn("hub refused edge={} hub={} error={} reconnect_in_ms={}", settings.edgeUrl(), settings.hubId(), error,
          scheduleReconnect().toMillis());
    }
  }

  private Behavior<Command> onStreamEnded(StreamEnded ended) {
    if (!stopping.isEmpty()) {
      return this; // stopping: the end is awaited by finish(), no reconnect
    }
    if (isCurrent(ended.generation()) && ended.replaced()) {
      // Another client with this hub id took over. Reconnecting at once would take the stream back and
      // the two would replace each other for ever, so each replacement in a row lengthens the backoff
      // (a successful connect does not reset it; any other end of a stream does).
      replacedInARow++;
      stats.replaced();
      failedAttempts = replacedInARow - 1;
      closeConnection();
      Duration delay = scheduleReconnect(true);
      log.warn("hub replaced edge={} hub={} replaced_in_a_row={} reconnect_in_ms={} cause=the edge accepted a newer"
              + " connection with this hub id (is another hub client running with the same id and secret?)",
          settings.edgeUrl(), settings.hubId(), replacedInARow, delay.toMillis());
    } else if (isCurrent(ended.generation())) {
      replacedInARow = 0;
      stats.streamEnded(ended.reason());
      String event = connected ? "hub disconnected" : "hub connect failed";
      closeConnection();
      log.info("{} edge={} reason={} reconnect_in_ms={}", event, settings.edgeUrl(), ended.reason(),
          scheduleReconnect().toMillis());
    }
    return this;
  }

  private Behavior<Command> onStale(Stale stale) {
    if (!stopping.isEmpty()) {
      return this;
    }
    if (isCurrent(stale.generation())) {
      replacedInARow = 0;
      String event = connected ? "hub disconnected" : "hub connect failed";
      closeConnection();
      log.info("{} edge={} reason=nothing received for {} ms reconnect_in_ms={}", event, settings.edgeUrl(),
          settings.staleTimeout().toMillis(), scheduleReconnect().toMillis());
    }
    return this;
  }

  private Behavior<Command> onSendHeartbeat() {
    if (connected) {
      send(StreamRequest.newBuilder()
          .setHeartbeat(Heartbeat.newBuilder().setTimestamp(Instant.now().getEpochSecond())).build(), "heartbeat");
    }
    return this;
  }

  private void onWebhook(Pending pending) {
    WebhookEnvelope envelope = pending.envelope();
    log.debug("Received webhook {} for endpoint {} (attempt {}, {} bytes, {} headers) -> {}", envelope.getId(),
        envelope.getEndpointId(), envelope.getAttempt(), envelope.getPayload().size(), envelope.getHeadersCount(),
        envelope.getDestinationUrl());
    if (!stopping.isEmpty()) {
      log.debug("Webhook {} not started: stopping (the edge redelivers it)", envelope.getId());
      return;
    }
    if (queues.add(envelope.getEndpointId(), pending)) {
      startFrom(pending);
    }
  }

  /** Starts the POST of {@code next}, first acknowledging any already-delivered webhooks queued before it. */
  private void startFrom(Pending next) {
    while (next != null) {
      WebhookEnvelope envelope = next.envelope();
      OptionalInt status = recent.statusOf(envelope.getId());
      if (status.isEmpty()) {
        Pending pending = next;
        inFlight++;
        getContext().pipeToSelf(poster.post(envelope), (ack, failure) -> new Delivered(pending,
            ack != null ? ack : DeliveryAcks.forFailure(envelope.getId(), failure, settings.requestTimeout())));
        return;
      }
      stats.duplicateSkipped();
      log.info("webhook duplicate id={} status={} (acknowledged without a second POST)",
          envelope.getId(), status.getAsInt());
      ack(next.generation(), DeliveryAcks.success(envelope.getId(), status.getAsInt()));
      next = queues.done(envelope.getEndpointId());
    }
  }

  private Behavior<Command> onDelivered(Delivered delivered) {
    WebhookEnvelope envelope = delivered.pending().envelope();
    DeliveryAck ack = delivered.ack();
    stats.delivered(ack.getSuccess());
    if (ack.getSuccess()) {
      recent.delivered(envelope.getId(), ack.getStatusCode());
      log.info("webhook delivered id={} endpoint={} status={}", envelope.getId(), envelope.getEndpointId(),
          ack.getStatusCode());
    } else {
      log.info("webhook failed id={} endpoint={} status={} kind={} error={}", envelope.getId(), envelope.getEndpointId(),
          ack.getStatusCode(), ack.getPermanentFailure() ? "permanent" : "retryable", ack.getErrorMessage());
    }
    ack(delivered.pending().generation(), ack);
    inFlight--;
    if (!stopping.isEmpty()) {
      return inFlight == 0 ? finish() : this;
    }
    startFrom(queues.done(envelope.getEndpointId()));
    return this;
  }

  private void ack(long ackGeneration, DeliveryAck ack) {
    if (isCurrent(ackGeneration)) {
      send(StreamRequest.newBuilder().setAck(ack).build(), "ack of webhook " + ack.getWebhookId());
    } else {
      log.debug("Ack of webhook {} dropped: its stream is gone (the edge will redeliver)", ack.getWebhookId());
    }
  }

  private void send(StreamRequest request, String what) {
    if (!connection.send(request)) {
      log.warn("Could not queue the {} for the edge (buffer full or stream closing)", what);
    }
  }

  private Behavior<Command> onStop(Stop stop) {
    stopping.add(stop.replyTo());
    if (stopping.size() > 1) {
      return this;
    }
    timers.cancel(RECONNECT_TIMER);
    timers.cancel(HEARTBEAT_TIMER);
    log.info("hub client stopping hub={} in_flight={}", settings.hubId(), inFlight);
    if (inFlight == 0) {
      return finish();
    }
    timers.startSingleTimer(STOP_TIMER, new DrainTimeout(), settings.stopTimeout().dividedBy(2));
    return this;
  }

  /** Half-closes the stream and waits (the rest of stop-timeout at most) for the edge to end it. */
  private Behavior<Command> finish() {
    if (finishing) {
      return this;
    }
    finishing = true;
    timers.cancel(STALE_TIMER);
    if (connection == null) {
      return onFinished();
    }
    connection.finish();
    getContext().pipeToSelf(connection.terminated(), (done, failure) -> new Finished());
    timers.startSingleTimer(STOP_TIMER, new Finished(), settings.stopTimeout().dividedBy(2));
    return this;
  }

  private Behavior<Command> onFinished() {
    closeConnection();
    poster.close(); // before Done: whoever waits for the stop finds the I/O threads gone
    log.info("hub client stopped hub={} abandoned_posts={}", settings.hubId(), inFlight);
    stopping.forEach(replyTo -> replyTo.tell(Done.getInstance()));
    return Behaviors.stopped();
  }

  private boolean isCurrent(long messageGeneration) {
    return connection != null && messageGeneration == generation;
  }

  private void closeConnection() {
    timers.cancel(HEARTBEAT_TIMER);
    timers.cancel(STALE_TIMER);
    connected = false;
    closeStream();
  }

  private void closeStream() {
    if (connection != null) {
      connection.close();
      connection = null;
    }
  }

  /** Schedules the next connect after the backoff; the caller logs the delay on its one line for the event. */
  private Duration scheduleReconnect() {
    return scheduleReconnect(false);
  }

  private Duration scheduleReconnect(boolean afterReplacement) {
    Duration delay = backoff.delay(failedAttempts++, ThreadLocalRandom.current().nextDouble());
    stats.reconnectScheduled(delay, afterReplacement);
    timers.startSingleTimer(RECONNECT_TIMER, new Connect(), delay);
    return delay;
  }

  /**
   * Why a stream ended, for the log: the failure, and when its cause shows the edge URL points at the wrong
   * kind of port, what to change. grpc-java reports both as "INTERNAL: http2 exception"; the cause holds
   * the first bytes the port answered, in hex: "HTTP/" (485454502f) from an HTTP/1.1 port (the relay's
   * public port, not its gRPC port), a TLS alert record (15 03) from a TLS port dialled without TLS.
   */
  static String describeEnd(Throwable failure, HubClientSettings settings) {
    String what = DeliveryAcks.describe(failure);
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String message = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
      if (message.contains(HTTP1_REPLY_HEX)) {
        return what + ": the edge at " + settings.edgeHost() + ":" + settings.edgePort() + " answered in HTTP/1.1, so it"
            + " is not a gRPC (HTTP/2) port; point --edge at the relay's gRPC port (conduit.hub.grpc-port,"
            + " CONDUIT_GRPC_PORT; 8081 by default), not its HTTP port";
      }
      if (message.contains(TLS_ALERT_HEX)) {
        return what + ": the edge at " + settings.edgeHost() + ":" + settings.edgePort() + " answered with TLS; use"
            + " an https:// edge URL";
      }
    }
    return what;
  }

  /** "HTTP/" and a TLS alert record's first bytes, as netty's "first received frame was not SETTINGS" dumps them. */
  private static final String HTTP1_REPLY_HEX = "hex dump for first 5 bytes: 485454502f";
  private static final String TLS_ALERT_HEX = "hex dump for first 5 bytes: 1503";

  /** The edge ends a replaced stream with ABORTED and {@link HubConnection#REPLACED_DESCRIPTION}. */
  static boolean isReplacement(Throwable failure) {
    if (failure == null) {
      return false;
    }
    Status status = Status.fromThrowable(failure);
    return status.getCode() == Status.Code.ABORTED
        && HubConnection.REPLACED_DESCRIPTION.equals(status.getDescription());
  }
}
