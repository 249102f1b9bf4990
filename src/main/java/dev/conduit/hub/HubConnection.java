package dev.conduit.hub;

import dev.conduit.cluster.ClusterSerializable;
import dev.conduit.hub.auth.AuthResult;
import dev.conduit.server.Durations;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.grpc.ConnectResponse;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.webhook.DeliveryProtocol;
import dev.conduit.webhook.DeliveryProtocol.Outcome;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;

/**
 * One hub's gRPC stream. Before {@code connect} is authenticated nothing else is accepted; after it,
 * webhooks offered by the hub's endpoints are pushed at once (up to max-outstanding unacknowledged),
 * acks go back to the endpoint that sent the webhook, heartbeats flow every heartbeat-interval, and a
 * hub silent for stale-timeout is evicted. Whatever is unacknowledged when the connection ends is
 * handed back to its endpoints for redelivery.
 */
public final class HubConnection extends AbstractBehavior<HubConnection.Command> {

  public static final String FIRST_MESSAGE_NOT_CONNECT = "first message must be connect";
  public static final String CONNECT_TIMEOUT = "no connect message in time";

  /**
   * Offer, Replaced and GetStatus may come from another node (offers go straight to the hub's
   * connection wherever it is, see {@link HubPresence}); the rest are this node's own.
   */
  public sealed interface Command extends ClusterSerializable {}

  /**
   * A message from the hub. The stream sends the next one only after ackTo got {@link StreamAck}, so a
   * hub that floods the edge is slowed by HTTP/2 flow control instead of filling this actor's mailbox.
   * ackTo is null where nothing waits (tests).
   */
  public record Incoming(StreamRequest request, ActorRef<StreamAck> ackTo) implements Command {
    public Incoming(StreamRequest request) {
      this(request, null);
    }
  }

  /** The incoming stream is ready; ackTo takes the first ack. */
  public record StreamStarted(ActorRef<StreamAck> ackTo) implements Command {}

  public enum StreamAck { INSTANCE }

  /** The hub's side of the stream ended (or the response stream was cancelled). */
  public enum StreamCompleted implements Command { INSTANCE }

  public record StreamFailed(Throwable cause) implements Command {}

  /** A webhook for this hub (forwarded by the registry); the answer goes to its endpoint by id. */
  public record Offer(DeliveryProtocol.Offer offer) implements Command {}

  /** A newer connection for the same hub id was authenticated. */
  /**
   * Description of the ABORTED status that ends a replaced connection's stream; hub clients recognise a
   * replacement by it (with the code), so it is part of the wire behaviour.
   */
  public static final String REPLACED_DESCRIPTION = "replaced by a newer connection";

  public enum Replaced implements Command { INSTANCE }

  /** The relay is shutting down: the stream ends with UNAVAILABLE, so the hub reconnects (to another node). */
  public enum ServerStopping implements Command { INSTANCE }

  /** The description of the status a stream ends with when the relay shuts down. */
  public static final String STOPPING_DESCRIPTION = "relay shutting down";

  public record GetStatus(ActorRef<ConnectionStatus> replyTo) implements Command {}

  public record ConnectionStatus(String hubId, Instant connectedAt, Instant lastHeartbeat, Instant lastSeen,
                                 int outstanding) implements ClusterSerializable {}

  private enum HeartbeatTick implements Command { INSTANCE }

  private enum StaleCheck implements Command { INSTANCE }

  private enum ConnectTimeout implements Command { INSTANCE }

  private static final Object HEARTBEAT = "heartbeat";
  private static final Object STALE = "stale";
  private static final Object CONNECT = "connect";

  private final HubSettings settings;
  private final HubAuthenticator authenticator;
  private final BoundedSourceQueue<StreamResponse> out;
  private final ActorRef<HubRegistry.Command> registry;
  private final DeliveryProtocol.Endpoints endpoints;
  private final Clock clock;
  private final TimerScheduler<Command> timers;
  /** The hub's remote address (host:port) for log lines, or "-" when not known. */
  private final String peer;
  private final HubMetrics metrics;

  /** webhook id -> endpoint id, for every webhook pushed and not yet acknowledged. */
  private final Map<String, String> outstanding = new LinkedHashMap<>();
  /** Endpoints that were told BUSY: woken when there is room. */
  private final Set<String> waiting = new LinkedHashSet<>();
  private String hubId;
  private Instant connectedAt;
  private Instant lastHeartbeat;
  private Instant lastSeen;
  private boolean closed;

  private HubConnection(ActorContext<Command> context, TimerScheduler<Command> timers, HubSettings settings,
                        HubAuthenticator authenticator, BoundedSourceQueue<StreamResponse> out,
                        ActorRef<HubRegistry.Command> registry, DeliveryProtocol.Endpoints endpoints,
                        Clock clock, String peer, HubMetrics metrics) {
    super(context);
    this.peer = peer;
    this.metrics = metrics;
    this.timers = timers;
    this.settings = settings;
    this.authenticator = authenticator;
    this.out = out;
    this.registry = registry;
    this.endpoints = endpoints;
    this.clock = clock;
  }

  public static Behavior<Command> create(HubSettings settings, HubAuthenticator authenticator,
                                         BoundedSourceQueue<StreamResponse> out, ActorRef<HubRegistry.Command> registry,
                                         DeliveryProtocol.Endpoints endpoints, Clock clock) {
    return create(settings, authenticator, out, registry, endpoints, clock, "-", new HubMetrics());
  }

  /**
   * @param peer    the hub's remote address (host:port) for log lines, "-" when not known
   * @param metrics counts this connection's eviction
   */
  public static Behavior<Command> create(HubSettings settings, HubAuthenticator authenticator,
                                         BoundedSourceQueue<StreamResponse> out, ActorRef<HubRegistry.Command> registry,
                                         DeliveryProtocol.Endpoints endpoints, Clock clock,
                                         String peer, HubMetrics metrics) {
    return Behaviors.withTimers(timers -> Behaviors.setup(context -> {
      timers.startSingleTimer(CONNECT, ConnectTimeout.INSTANCE, settings.connectTimeout());
      return new HubConnection(context, timers, settings, authenticator, out, registry, endpoints, clock, peer, metrics);
    }));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Incoming.class, incoming -> {
          Behavior<Command> next = incoming(incoming);
          if (incoming.ackTo() != null) {
            incoming.ackTo().tell(StreamAck.INSTANCE);
          }
          return next;
        })
        .onMessage(StreamStarted.class, started -> {
          started.ackTo().tell(StreamAck.INSTANCE);
          return this;
        })
        .onMessage(Offer.class, this::offer)
        .onMessage(HeartbeatTick.class, tick -> {
          send(StreamResponse.newBuilder()
              .setHeartbeat(Heartbeat.newBuilder().setTimestamp(clock.instant().getEpochSecond())).build());
          return this;
        })
        .onMessage(StaleCheck.class, stale -> {
          getContext().getLog().info("hub evicted hub={} reason=no message for {} outstanding={}", hubId,
              Durations.text(settings.staleTimeout()), outstanding.size());
          metrics.evicted();
          return close(Status.UNAVAILABLE.withDescription("stale: no message for "
              + Durations.text(settings.staleTimeout())));
        })
        .onMessage(ConnectTimeout.class, timeout -> {
          if (hubId != null) {
            return this;
          }
          getContext().getLog().info("hub refused peer={} reason={}", peer, CONNECT_TIMEOUT);
          return refuse(CONNECT_TIMEOUT);
        })
        .onMessage(ServerStopping.class, stopping -> {
          getContext().getLog().info("hub connection closed hub={} reason=relay stopping outstanding={}", hubId,
              outstanding.size());
          return close(Status.UNAVAILABLE.withDescription(STOPPING_DESCRIPTION));
        })
        .onMessage(Replaced.class, replaced -> {
          getContext().getLog().info("hub connection closed hub={} reason=replaced outstanding={}", hubId,
              outstanding.size());
          return close(Status.ABORTED.withDescription(REPLACED_DESCRIPTION));
        })
        .onMessage(StreamCompleted.class, done -> {
          if (hubId != null) {
            getContext().getLog().info("hub disconnected hub={} outstanding={}", hubId, outstanding.size());
          }
          return close(null);
        })
        .onMessage(StreamFailed.class, failed -> {
          GrpcMessageLimit.Refused refused = causeOf(failed.cause(), GrpcMessageLimit.Refused.class);
          if (refused != null) {
            getContext().getLog().info("hub {} hub={} peer={} reason={}", hubId == null ? "refused" : "disconnected",
                hubId == null ? "-" : hubId, peer, refused.getMessage());
            return close(refused.status());
          }
          getContext().getLog().info("hub disconnected hub={} peer={} outstanding={} cause={}",
              hubId == null ? "-" : hubId, peer, outstanding.size(), failed.cause().toString());
          // Never a silent OK: a hub that sent bytes that are no StreamRequest learns why it was cut off.
          // A transport that already knows the precise status (a Connect envelope over the size cap) gives it.
          if (failed.cause() instanceof GrpcServiceException given) {
            return close(given.getStatus());
          }
          return close(malformed(failed.cause())
              ? Status.INVALID_ARGUMENT.withDescription("malformed StreamRequest: " + failed.cause().getMessage())
              : Status.CANCELLED.withDescription("request stream failed"));
        })
        .onMessage(GetStatus.class, get -> {
          get.replyTo().tell(new ConnectionStatus(hubId, connectedAt, lastHeartbeat, lastSeen, outstanding.size()));
          return this;
        })
        .onSignal(PostStop.class, stop -> {
          // Unacknowledged webhooks go back to their endpoints' queues (the hub de-duplicates by id).
          outstanding.forEach((webhookId, endpointId) ->
              endpoints.tell(endpointId, new DeliveryProtocol.Requeue(webhookId)));
          outstanding.clear();
          waiting.forEach(endpointId -> endpoints.tell(endpointId, DeliveryProtocol.Kick.INSTANCE));
          if (!closed) {
            closed = true;
            endQueue(null);
          }
          return this;
        })
        .build();
  }

  private Behavior<Command> incoming(Incoming incoming) {
    StreamRequest request = incoming.request();
    Instant now = clock.instant();
    if (hubId == null) {
      if (request.getMessageCase() != StreamRequest.MessageCase.CONNECT) {
        getContext().getLog().info("hub refused peer={} reason={} (got {})", peer, FIRST_MESSAGE_NOT_CONNECT,
            request.getMessageCase());
        return refuse(FIRST_MESSAGE_NOT_CONNECT);
      }
      var connect = request.getConnect();
      AuthResult result = authenticator.authenticate(connect.getHubId(), connect.getTimestamp(), connect.getSignature());
      if (result instanceof AuthResult.Rejected rejected) {
        getContext().getLog().info("hub refused hub={} peer={} reason={}", connect.getHubId(), peer,
            rejected.reason());
        return refuse(rejected.reason());
      }
      hubId = connect.getHubId();
      connectedAt = now;
      lastSeen = now;
      timers.cancel(CONNECT);
      send(StreamResponse.newBuilder().setConnectResponse(ConnectResponse.newBuilder().setSuccess(true)).build());
      timers.startTimerWithFixedDelay(HEARTBEAT, HeartbeatTick.INSTANCE, settings.heartbeatInterval());
      timers.startSingleTimer(STALE, StaleCheck.INSTANCE, settings.staleTimeout());
      registry.tell(new HubRegistry.Authenticated(hubId, getContext().getSelf(), now));
      getContext().getLog().info("hub connected hub={} peer={}", hubId, peer);
      return this;
    }
    lastSeen = now;
    timers.startSingleTimer(STALE, StaleCheck.INSTANCE, settings.staleTimeout());
    switch (request.getMessageCase()) {
      case ACK -> ack(request.getAck());
      case HEARTBEAT -> {
        lastHeartbeat = now;
        getContext().getLog().debug("hub {} heartbeat {}", hubId, request.getHeartbeat().getTimestamp());
      }
      case CONNECT -> getContext().getLog().warn("hub {} sent connect again: ignored", hubId);
      default -> getContext().getLog().debug("hub {} sent an empty message: ignored", hubId);
    }
    return this;
  }

  private void ack(DeliveryAck ack) {
    String endpointId = outstanding.remove(ack.getWebhookId());
    if (endpointId == null) {
      getContext().getLog().warn("hub {} acked unknown or foreign webhook id={}: ignored", hubId, ack.getWebhookId());
      return;
    }
    getContext().getLog().debug("hub {} ack webhook={} success={} status={} permanent={}", hubId, ack.getWebhookId(),
        ack.getSuccess(), ack.getStatusCode(), ack.getPermanentFailure());
    endpoints.tell(endpointId, new DeliveryProtocol.Ack(ack.getWebhookId(), ack.getSuccess(), ack.getStatusCode(),
        ack.getErrorMessage(), ack.getPermanentFailure()));
    if (!waiting.isEmpty() && outstanding.size() < settings.maxOutstanding()) {
      // Room again: wake the endpoints that were told BUSY.
      waiting.forEach(id -> endpoints.tell(id, DeliveryProtocol.Kick.INSTANCE));
      waiting.clear();
    }
  }

  private Behavior<Command> offer(Offer message) {
    DeliveryProtocol.Offer offer = message.offer();
    String webhookId = offer.webhookId();
    Outcome outcome;
    if (hubId == null || closed) {
      outcome = Outcome.NO_HUB;
    } else if (outstanding.containsKey(webhookId)) {
      // Offered again while this stream still holds it (the endpoint took a slow answer for a lost one):
      // sending it twice on one stream would make the hub deliver it twice.
      outcome = Outcome.ACCEPTED;
    } else if (outstanding.size() >= settings.maxOutstanding()
        || !send(StreamResponse.newBuilder().setWebhook(Envelopes.of(offer)).build())) {
      waiting.add(offer.endpointId());
      outcome = Outcome.BUSY;
    } else {
      outstanding.put(webhookId, offer.endpointId());
      getContext().getLog().debug("hub {} <- webhook {} endpoint={} attempt={}", hubId, webhookId,
          offer.endpointId(), offer.attempt());
      outcome = Outcome.ACCEPTED;
    }
    endpoints.tell(offer.endpointId(), new DeliveryProtocol.OfferResult(webhookId, offer.attempt(), outcome,
        outcome == Outcome.NO_HUB ? null : connectionId(getContext().getSystem(), getContext().getSelf())));
    return this;
  }

  /**
   * The id a connection gives in OfferResult and its registry in HubGone: its ref in serialized form, the
   * same string on every node (address and uid included).
   */
  static String connectionId(org.apache.pekko.actor.typed.ActorSystem<?> system, ActorRef<?> connection) {
    return org.apache.pekko.actor.typed.ActorRefResolver.get(system).toSerializationFormat(connection);
  }

  private boolean send(StreamResponse response) {
    return !closed && out.offer(response) == QueueOfferResult.enqueued();
  }

  private static boolean malformed(Throwable cause) {
    return causeOf(cause, com.google.protobuf.InvalidProtocolBufferException.class) != null;
  }

  /** The first throwable of this type in cause's chain, or null. */
  private static <T extends Throwable> T causeOf(Throwable cause, Class<T> type) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  /** connect_response{success=false, error} then the stream ends. */
  private Behavior<Command> refuse(String error) {
    send(StreamResponse.newBuilder()
        .setConnectResponse(ConnectResponse.newBuilder().setSuccess(false).setError(error)).build());
    closed = true;
    endQueue(null);
    return Behaviors.stopped();
  }

  /** Ends the stream (with a gRPC status when given) and stops; PostStop hands back outstanding webhooks. */
  private Behavior<Command> close(Status status) {
    if (!closed) {
      closed = true;
      endQueue(status);
    }
    return Behaviors.stopped();
  }

  /** Completes (or fails with the status) the outgoing stream, unless the hub's side already ended it. */
  private void endQueue(Status status) {
    try {
      if (status == null) {
        out.complete();
      } else {
        out.fail(new GrpcServiceException(status));
      }
    } catch (IllegalStateException alreadyEnded) {
      getContext().getLog().debug("hub {} stream already ended", hubId);
    }
  }
}
