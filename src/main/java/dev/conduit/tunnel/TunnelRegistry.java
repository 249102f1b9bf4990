package dev.conduit.tunnel;

import dev.conduit.persistence.EntityLimits;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * This node's side of the tunnel: supervises the instance connections and client sessions whose sockets
 * are open here, starts the node's shard regions (key pins, claim codes, instance locations) and keeps
 * the queue of every local socket for same-node pairing. Which connection holds an instance id,
 * cluster-wide, is the {@link InstanceLocation} entity's decision; only this node's bookkeeping
 * (CloseAll, stats, re-asserting locations) passes through here, and session frames never do.
 */
public final class TunnelRegistry extends AbstractBehavior<TunnelRegistry.Command> {

  public sealed interface Command {}

  /** A new instance WebSocket: spawn its actor and answer with it. */
  public record AcceptInstance(SourceQueueWithComplete<List<Message>> out, String clientIp,
                               ActorRef<ActorRef<InstanceConnection.Command>> replyTo) implements Command {}

  /** A new client WebSocket: spawn its session actor and answer with it. */
  public record AcceptClient(SourceQueueWithComplete<List<Message>> out, String clientIp,
                             ActorRef<ActorRef<ClientSession.Command>> replyTo) implements Command {}

  /** A connection of this node was accepted as its instance id's holder (its first accepted register). */
  public record Registered(ActorRef<InstanceConnection.Command> connection, String instanceId) implements Command {}

  /** Where the instance is, from its location entity (on whichever node that runs). */
  public record GetInstance(String instanceId, ActorRef<InstanceLocation.InstanceLookup> replyTo) implements Command {}

  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /** The relay is stopping: every socket is told so and closed, so peers reconnect at once. */
  public record CloseAll(ActorRef<Done> replyTo) implements Command {}

  /** instancesOnline: instances registered on this node; the session figures are this node's too. */
  public record Stats(int instancesOnline, long sessionsOpen, long sessionsOpened, long bytesRelayed, long framesRelayed) {}

  private record ConnectionStopped(ActorRef<InstanceConnection.Command> connection) implements Command {}

  private record SessionStopped(ActorRef<ClientSession.Command> session) implements Command {}

  private record MemberRemoved(ClusterEvent.MemberRemoved event) implements Command {}

  private final TunnelContext tunnel;
  /** Registered connections on this node and their instance ids. */
  private final Map<ActorRef<InstanceConnection.Command>, String> registered = new HashMap<>();
  /** Every open socket's actor, registered or not, for CloseAll. */
  private final Set<ActorRef<InstanceConnection.Command>> connections = new HashSet<>();
  private final Set<ActorRef<ClientSession.Command>> sessions = new HashSet<>();
  private long spawned;

  private TunnelRegistry(ActorContext<Command> context, TunnelSettings settings, RateLimiter rateLimiter,
                         TunnelMetrics metrics, Clock clock, EntityLimits entityLimits) {
    super(context);
    var system = context.getSystem();
    this.tunnel = new TunnelContext(settings, rateLimiter, metrics, clock, context.getSelf(),
        ClusterSharding.get(system), new ConcurrentHashMap<>(), Materializer.matFromSystem(system));
    KeyPin.init(system, clock, entityLimits);
    ClaimCode.init(system, clock, entityLimits);
    InstanceLocation.init(system, tunnel, entityLimits.idleTimeout());
    // Location entities hold nothing on disk: those a removed node hosted restart empty on another node, and
    // each connection of this node re-asserts its id to its location then. On removal (not on a periodic
    // timer): that is exactly when locations are lost (shards move only once a node is removed, or on hand-off,
    // which the entity itself reports); a timer would cost every connection a message per tick to cover a
    // window it would still leave open until its next tick.
    Cluster.get(system).subscriptions().tell(Subscribe.create(
        context.messageAdapter(ClusterEvent.MemberRemoved.class, MemberRemoved::new), ClusterEvent.MemberRemoved.class));
  }

  public static Behavior<Command> create(TunnelSettings settings, RateLimiter rateLimiter, TunnelMetrics metrics,
                                         Clock clock, EntityLimits entityLimits) {
    return Behaviors.setup(context -> new TunnelRegistry(context, settings, rateLimiter, metrics, clock, entityLimits));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(AcceptInstance.class, this::onAcceptInstance)
        .onMessage(AcceptClient.class, this::onAcceptClient)
        .onMessage(Registered.class, this::onRegistered)
        .onMessage(ConnectionStopped.class, this::onConnectionStopped)
        .onMessage(GetInstance.class, get -> {
          tunnel.location(get.instanceId()).tell(new InstanceLocation.GetStatus(get.replyTo()));
          return this;
        })
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(CloseAll.class, this::onCloseAll)
        .onMessage(MemberRemoved.class, this::onMemberRemoved)
        .onMessage(SessionStopped.class, stopped -> {
          sessions.remove(stopped.session());
          tunnel.sockets().remove(stopped.session());
          return this;
        })
        .build();
  }

  private Behavior<Command> onAcceptInstance(AcceptInstance accept) {
    // A connection actor that throws is stopped, which closes its socket; the peer reconnects.
    ActorRef<InstanceConnection.Command> connection = getContext().spawn(
        Behaviors.supervise(InstanceConnection.create(tunnel, accept.out(), accept.clientIp()))
            .onFailure(SupervisorStrategy.stop()), "instance-" + (++spawned));
    getContext().watchWith(connection, new ConnectionStopped(connection));
    connections.add(connection);
    tunnel.sockets().put(connection, accept.out());
    accept.replyTo().tell(connection);
    return this;
  }

  private Behavior<Command> onAcceptClient(AcceptClient accept) {
    ActorRef<ClientSession.Command> session = getContext().spawn(
        Behaviors.supervise(ClientSession.create(tunnel, accept.out(), accept.clientIp()))
            .onFailure(SupervisorStrategy.stop()), "client-" + (++spawned));
    getContext().watchWith(session, new SessionStopped(session));
    sessions.add(session);
    tunnel.sockets().put(session, accept.out());
    accept.replyTo().tell(session);
    return this;
  }

  private Behavior<Command> onRegistered(Registered registration) {
    if (connections.contains(registration.connection())) {
      registered.put(registration.connection(), registration.instanceId());
      tunnel.metrics().instancesOnline.set(registered.size());
    }
    return this;
  }

  private Behavior<Command> onConnectionStopped(ConnectionStopped stopped) {
    connections.remove(stopped.connection());
    tunnel.sockets().remove(stopped.connection());
    if (registered.remove(stopped.connection()) != null) {
      tunnel.metrics().instancesOnline.set(registered.size());
    }
    return this;
  }

  private Behavior<Command> onMemberRemoved(MemberRemoved removed) {
    if (!registered.isEmpty()) {
      getContext().getLog().info("cluster member removed member={}: re-asserting instance locations count={}",
          removed.event().member().address(), registered.size());
      registered.keySet().forEach(connection -> connection.tell(InstanceConnection.ReassertLocation.INSTANCE));
    }
    return this;
  }

  private Behavior<Command> onCloseAll(CloseAll closeAll) {
    getContext().getLog().info("relay stopping: closing instances={} clients={}", connections.size(), sessions.size());
    // Clients first: a local tell is enqueued at once, so they hear "shutting_down" before "instance_offline".
    sessions.forEach(session -> session.tell(ClientSession.ServerStopping.INSTANCE));
    connections.forEach(connection -> connection.tell(InstanceConnection.ServerStopping.INSTANCE));
    closeAll.replyTo().tell(Done.getInstance());
    return this;
  }

  private Behavior<Command> onGetStats(GetStats get) {
    TunnelMetrics metrics = tunnel.metrics();
    get.replyTo().tell(new Stats(registered.size(), metrics.openSessions(), metrics.sessionsOpened(),
        metrics.bytesRelayed(), metrics.framesRelayed()));
    return this;
  }
}
