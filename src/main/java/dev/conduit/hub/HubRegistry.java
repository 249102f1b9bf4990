package dev.conduit.hub;

import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.webhook.DeliveryProtocol;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.stream.BoundedSourceQueue;

/**
 * Supervises the hub connections and knows the live one per hub id (at most one: a newer
 * authenticated connection replaces the older). Endpoint entities send their offers here
 * ({@link dev.conduit.webhook.DeliveryProtocol}); they are forwarded to the hub's live connection, or
 * answered NO_HUB, to the endpoint by id.
 */
public final class HubRegistry extends AbstractBehavior<HubRegistry.Command> {

  public sealed interface Command {}

  /**
   * A new hub stream (gRPC or Connect): spawn its connection actor (unauthenticated) and answer with it.
   * peer is the hub's remote address for log lines ("-" when not known).
   */
  public record Accept(BoundedSourceQueue<StreamResponse> out, String peer,
                       ActorRef<ActorRef<HubConnection.Command>> replyTo) implements Command {}

  /** Sent by a connection once its connect message was authenticated. */
  public record Authenticated(String hubId, ActorRef<HubConnection.Command> connection, Instant at)
      implements Command {}

  /** An endpoint offers a webhook to its hub; the answer goes to the endpoint by id. */
  public record Offer(DeliveryProtocol.Offer offer) implements Command {}

  public record GetHubs(ActorRef<List<HubEntry>> replyTo) implements Command {}

  /**
   * The relay is shutting down: every hub stream (authenticated or not) is ended with UNAVAILABLE now,
   * before the HTTP/2 binding waits for its requests, which a live stream would hold to the deadline.
   */
  public record CloseAll(ActorRef<Done> replyTo) implements Command {}

  /**
   * A configured hub: its live connection (null when offline), when that connected, when the last one left,
   * and how many of its connections a newer one replaced since the edge started (two hub clients sharing
   * one hub id make this climb).
   */
  public record HubEntry(String hubId, ActorRef<HubConnection.Command> connection, Instant connectedAt,
                         Instant lastDisconnectedAt, long replacements) {}

  private record ConnectionStopped(ActorRef<HubConnection.Command> connection) implements Command {}

  private record Live(ActorRef<HubConnection.Command> connection, Instant since) {}

  private final HubSettings settings;
  private final HubAuthenticator authenticator;
  private final DeliveryProtocol.Endpoints endpoints;
  private final Clock clock;
  private final HubMetrics metrics;
  private final Map<String, Live> live = new HashMap<>();
  private final Map<ActorRef<HubConnection.Command>, String> hubOf = new HashMap<>();
  private final Map<String, Instant> lastDisconnected = new HashMap<>();
  private final Map<String, Long> replacements = new HashMap<>();
  private long spawned;

  private HubRegistry(ActorContext<Command> context, HubSettings settings, HubAuthenticator authenticator,
                      DeliveryProtocol.Endpoints endpoints, Clock clock, HubMetrics metrics) {
    super(context);
    this.metrics = metrics;
    this.settings = settings;
    this.authenticator = authenticator;
    this.endpoints = endpoints;
    this.clock = clock;
  }

  /** @param endpoints the webhook side: answers and kicks go to endpoint entities by id */
  public static Behavior<Command> create(HubSettings settings, HubAuthenticator authenticator,
                                         DeliveryProtocol.Endpoints endpoints, Clock clock,
                                         HubMetrics metrics) {
    return Behaviors.setup(context -> new HubRegistry(context, settings, authenticator, endpoints, clock, metrics));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Accept.class, this::accept)
        .onMessage(Authenticated.class, this::authenticated)
        .onMessage(Offer.class, this::offer)
        .onMessage(GetHubs.class, this::getHubs)
        .onMessage(CloseAll.class, this::closeAll)
        .onMessage(ConnectionStopped.class, this::stopped)
        .build();
  }

  private Behavior<Command> accept(Accept accept) {
    ActorRef<HubConnection.Command> connection = getContext().spawn(
        Behaviors.supervise(HubConnection.create(settings, authenticator, accept.out(), getContext().getSelf(),
            endpoints, clock, accept.peer(), metrics)).onFailure(SupervisorStrategy.stop()),
        "hub-connection-" + (++spawned));
    getContext().watchWith(connection, new ConnectionStopped(connection));
    accept.replyTo().tell(connection);
    return this;
  }

  private Behavior<Command> authenticated(Authenticated auth) {
    Live previous = live.put(auth.hubId(), new Live(auth.connection(), auth.at()));
    hubOf.put(auth.connection(), auth.hubId());
    metrics.connected(live.size());
    if (previous != null && !previous.connection().equals(auth.connection())) {
      hubOf.remove(previous.connection());
      previous.connection().tell(HubConnection.Replaced.INSTANCE);
      long count = replacements.merge(auth.hubId(), 1L, Long::sum);
      metrics.replaced();
      getContext().getLog().info("hub replaced hub={} replacements={} (a newer connection took over)", auth.hubId(),
          count);
    }
    List<String> served = endpoints.ofHub(auth.hubId());
    served.forEach(id -> endpoints.tell(id, DeliveryProtocol.Kick.INSTANCE));
    getContext().getLog().debug("hub {} connected: woke {} endpoints", auth.hubId(), served.size());
    return this;
  }

  private Behavior<Command> offer(Offer message) {
    DeliveryProtocol.Offer offer = message.offer();
    Live connection = live.get(offer.hubId());
    if (connection == null) {
      endpoints.tell(offer.endpointId(), new DeliveryProtocol.OfferResult(offer.webhookId(), offer.attempt(),
          DeliveryProtocol.Outcome.NO_HUB));
    } else {
      connection.connection().tell(new HubConnection.Offer(offer));
    }
    return this;
  }

  private Behavior<Command> closeAll(CloseAll close) {
    getContext().getLog().info("relay stopping: closing hub streams connections={}", getContext().getChildren().size());
    getContext().getChildren().forEach(child -> child.unsafeUpcast().tell(HubConnection.ServerStopping.INSTANCE));
    close.replyTo().tell(Done.getInstance());
    return this;
  }

  private Behavior<Command> getHubs(GetHubs get) {
    List<HubEntry> entries = new ArrayList<>();
    for (String hubId : settings.hubs().keySet()) {
      Live connection = live.get(hubId);
      entries.add(new HubEntry(hubId, connection == null ? null : connection.connection(),
          connection == null ? null : connection.since(), lastDisconnected.get(hubId),
          replacements.getOrDefault(hubId, 0L)));
    }
    get.replyTo().tell(entries);
    return this;
  }

  private Behavior<Command> stopped(ConnectionStopped stopped) {
    String hubId = hubOf.remove(stopped.connection());
    if (hubId != null) {
      Live current = live.get(hubId);
      if (current != null && current.connection().equals(stopped.connection())) {
        live.remove(hubId);
        metrics.connected(live.size());
        lastDisconnected.put(hubId, clock.instant());
      }
    }
    return this;
  }
}
