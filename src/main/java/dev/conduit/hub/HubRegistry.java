package dev.conduit.hub;

import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.webhook.DeliveryProtocol;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.stream.BoundedSourceQueue;

/**
 * Supervises this node's hub connections and keeps the cluster-wide presence of hubs: at most one live
 * connection per hub id in the whole cluster (a newer authenticated connection replaces the older,
 * wherever that is). Presence is a Distributed Data LWWMap hub id → {@link HubPresence}, written on
 * connect and disconnect only; every node's registry keeps a {@link HubPresence.View} of it that offers
 * read directly ({@link HubRelay#offer}: an endpoint's offer goes straight to the connection actor, on
 * this node or another, with no hop through a registry). Connections on other nodes are death-watched,
 * so a crashed node's hub is seen as gone once that node is removed from the cluster.
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

  public record GetHubs(ActorRef<List<HubEntry>> replyTo) implements Command {}

  /**
   * The relay is shutting down: every hub stream (authenticated or not) is ended with UNAVAILABLE now,
   * before the HTTP/2 binding waits for its requests, which a live stream would hold to the deadline.
   */
  public record CloseAll(ActorRef<Done> replyTo) implements Command {}

  /**
   * A configured hub: its live connection anywhere in the cluster (null when offline), when that
   * connected, and, as this node saw them, when the last one left and how many of its connections a newer
   * one replaced since this node started (two hub clients sharing one hub id make this climb).
   */
  public record HubEntry(String hubId, ActorRef<HubConnection.Command> connection, Instant connectedAt,
                         Instant lastDisconnectedAt, long replacements) {}

  private record ConnectionStopped(ActorRef<HubConnection.Command> connection) implements Command {}

  /** The presence map changed (on this node or another). */
  private record PresenceChanged(Replicator.SubscribeResponse<LWWMap<String, HubPresence>> response)
      implements Command {}

  /** This node's write of a connection's presence was applied here (and sent to the others, or timed out). */
  private record PresenceWritten(String hubId, ActorRef<HubConnection.Command> connection) implements Command {}

  private record PresenceRemoved(Replicator.UpdateResponse<LWWMap<String, HubPresence>> response)
      implements Command {}

  /** A connection on another node (of hubId) stopped, or its node left the cluster (crashed and downed). */
  private record RemoteGone(String hubId, ActorRef<HubConnection.Command> connection) implements Command {}

  /**
   * A connection on this node. version: what this node asked for; stored: what the presence map holds for
   * it (0 until the write ran here: until then, no newer connection elsewhere can be told apart from an old
   * one in a notification sent before the write).
   */
  private record Local(ActorRef<HubConnection.Command> connection, Instant since, long version, AtomicLong stored) {
    HubPresence presence() {
      return new HubPresence(connection, since, Math.max(version, stored.get()));
    }
  }

  static final Key<LWWMap<String, HubPresence>> PRESENCE = LWWMapKey.create("hub-presence");

  private final HubSettings settings;
  private final HubAuthenticator authenticator;
  private final DeliveryProtocol.Endpoints endpoints;
  private final Clock clock;
  private final HubMetrics metrics;
  private final HubPresence.View view;
  private final ReplicatorMessageAdapter<Command, LWWMap<String, HubPresence>> replicator;
  private final SelfUniqueAddress self;
  private final Replicator.WriteConsistency writeAll;
  /** This node's authenticated connections, by hub id. */
  private final Map<String, Local> live = new HashMap<>();
  private final Map<ActorRef<HubConnection.Command>, String> hubOf = new HashMap<>();
  /** The presence map as last notified. */
  private Map<String, HubPresence> presence = Map.of();
  /** Connections known to have stopped (their presence may linger in the map until its removal spreads). */
  private final Set<ActorRef<HubConnection.Command>> gone = new HashSet<>();
  /** Connections on other nodes this registry watches. */
  private final Set<ActorRef<HubConnection.Command>> watched = new HashSet<>();
  private final Map<String, Instant> lastDisconnected = new HashMap<>();
  private final Map<String, Long> replacements = new HashMap<>();
  private long spawned;

  private HubRegistry(ActorContext<Command> context, HubSettings settings, HubAuthenticator authenticator,
                      DeliveryProtocol.Endpoints endpoints, Clock clock, HubMetrics metrics, HubPresence.View view,
                      Duration writeTimeout) {
    super(context);
    this.metrics = metrics;
    this.settings = settings;
    this.authenticator = authenticator;
    this.endpoints = endpoints;
    this.clock = clock;
    this.view = view;
    DistributedData ddata = DistributedData.get(context.getSystem());
    this.self = ddata.selfUniqueAddress();
    this.replicator = new ReplicatorMessageAdapter<>(context, ddata.replicator(), writeTimeout);
    this.writeAll = new Replicator.WriteAll(writeTimeout);
    replicator.subscribe(PRESENCE, PresenceChanged::new);
  }

  /**
   * @param endpoints    the webhook side: answers and kicks go to endpoint entities by id
   * @param view         this node's view of the presence map, kept by this registry
   * @param writeTimeout how long a presence write waits for every node (it is applied here at once and
   *                     spreads by gossip if some node does not answer)
   */
  public static Behavior<Command> create(HubSettings settings, HubAuthenticator authenticator,
                                         DeliveryProtocol.Endpoints endpoints, Clock clock,
                                         HubMetrics metrics, HubPresence.View view, Duration writeTimeout) {
    return Behaviors.setup(context -> new HubRegistry(context, settings, authenticator, endpoints, clock, metrics,
        view, writeTimeout));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Accept.class, this::accept)
        .onMessage(Authenticated.class, this::authenticated)
        .onMessage(GetHubs.class, this::getHubs)
        .onMessage(CloseAll.class, this::closeAll)
        .onMessage(ConnectionStopped.class, this::stopped)
        .onMessage(PresenceChanged.class, this::presenceChanged)
        .onMessage(PresenceWritten.class, written -> {
          reconcile(written.hubId());
          return this;
        })
        .onMessage(PresenceRemoved.class, removed -> this)
        .onMessage(RemoteGone.class, this::remoteGone)
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
    String hubId = auth.hubId();
    // Above every version this node has seen for the hub: the newest connection wins everywhere.
    HubPresence known = view.get(hubId);
    long version = Math.max(auth.at().toEpochMilli(), known == null ? 0 : known.version() + 1);
    Local local = new Local(auth.connection(), auth.at(), version, new AtomicLong());
    Local previous = live.put(hubId, local);
    hubOf.put(auth.connection(), hubId);
    metrics.connected(live.size());
    if (previous != null && !previous.connection().equals(auth.connection())) {
      replace(hubId, previous.connection());
    }
    writePresence(hubId, local);
    reconcile(hubId); // puts it in the view and kicks the hub's endpoints
    return this;
  }

  private void replace(String hubId, ActorRef<HubConnection.Command> older) {
    hubOf.remove(older);
    gone.add(older);
    older.tell(HubConnection.Replaced.INSTANCE);
    long count = replacements.merge(hubId, 1L, Long::sum);
    metrics.replaced();
    getContext().getLog().info("hub replaced hub={} replacements={} (a newer connection took over)", hubId, count);
  }

  /** Puts this node's connection into the presence map, above any version already there for the hub. */
  private void writePresence(String hubId, Local local) {
    replicator.askUpdate(replyTo -> new Replicator.Update<>(PRESENCE, LWWMap.create(), writeAll, replyTo, map -> {
      HubPresence there = map.getEntries().get(hubId);
      long version = there == null || there.connection().equals(local.connection()) ? local.version()
          : Math.max(local.version(), there.version() + 1);
      local.stored().set(version);
      return map.put(self, hubId, new HubPresence(local.connection(), local.since(), version),
          (current, value) -> value.version());
    }), response -> new PresenceWritten(hubId, local.connection()));
  }

  /** Takes connection out of the presence map, unless a newer one took its place there. */
  private void removePresence(ActorRef<HubConnection.Command> connection) {
    replicator.askUpdate(replyTo -> new Replicator.Update<>(PRESENCE, LWWMap.create(), writeAll, replyTo, map -> {
      LWWMap<String, HubPresence> result = map;
      for (Map.Entry<String, HubPresence> entry : map.getEntries().entrySet()) {
        if (entry.getValue().connection().equals(connection)) {
          result = result.remove(self, entry.getKey());
        }
      }
      return result;
    }), PresenceRemoved::new);
  }

  private Behavior<Command> presenceChanged(PresenceChanged changed) {
    if (changed.response() instanceof Replicator.Changed<LWWMap<String, HubPresence>> c) {
      presence = Map.copyOf(c.get(PRESENCE).getEntries());
      // Forget stopped connections once their presence is gone from the map.
      gone.retainAll(presence.values().stream().map(HubPresence::connection).collect(Collectors.toSet()));
      Set<String> hubs = new HashSet<>(presence.keySet());
      hubs.addAll(live.keySet());
      hubs.addAll(view.connected());
      hubs.forEach(this::reconcile);
    }
    return this;
  }

  /**
   * Makes the view of hubId what the cluster says, with this node's own connection kept while its write
   * has not reached the map, and replaced when a newer connection elsewhere won. Kicks the hub's endpoints
   * when its connection changed (they may have been told NO_HUB by this node meanwhile).
   */
  private void reconcile(String hubId) {
    HubPresence winner = presence.get(hubId);
    if (winner != null && gone.contains(winner.connection())) {
      winner = null;
    }
    Local local = live.get(hubId);
    if (local != null && winner != null && !winner.connection().equals(local.connection())
        && local.stored().get() > 0 && winner.version() >= local.stored().get()) {
      // A newer connection of this hub authenticated on another node.
      live.remove(hubId);
      metrics.connected(live.size());
      replace(hubId, local.connection());
      local = null;
    }
    HubPresence chosen = local != null && (winner == null || !winner.connection().equals(local.connection()))
        ? local.presence() : winner;
    HubPresence before = view.get(hubId);
    if (chosen == null) {
      view.remove(hubId);
      return;
    }
    view.put(hubId, chosen);
    ActorRef<HubConnection.Command> connection = chosen.connection();
    if (connection.path().address().hasGlobalScope() && watched.add(connection)) {
      getContext().watchWith(connection, new RemoteGone(hubId, connection));
    }
    if (before == null || !before.connection().equals(connection)) {
      if (before != null && before.connection().path().address().hasGlobalScope() && nodeLost(before.connection())) {
        // The hub reconnected here or elsewhere while its old node is unreachable (crashed, not yet removed).
        hubGone(hubId, before.connection());
      }
      if (local == null) {
        getContext().getLog().info("hub connected elsewhere hub={} node={}", hubId, connection.path().address());
      }
      kick(hubId);
    }
  }

  private void kick(String hubId) {
    List<String> served = endpoints.ofHub(hubId);
    served.forEach(id -> endpoints.tell(id, DeliveryProtocol.Kick.INSTANCE));
    getContext().getLog().debug("hub {} connected: woke {} endpoints", hubId, served.size());
  }

  private Behavior<Command> remoteGone(RemoteGone remote) {
    watched.remove(remote.connection());
    gone.add(remote.connection());
    // Its own node takes it out of the map when it stops; a crashed node cannot: any node may.
    removePresence(remote.connection());
    if (nodeLost(remote.connection())) {
      hubGone(remote.hubId(), remote.connection());
    }
    view.snapshot().forEach((hubId, presence) -> {
      if (presence.connection().equals(remote.connection())) {
        getContext().getLog().info("hub disconnected elsewhere hub={} node={}", hubId,
            remote.connection().path().address());
        lastDisconnected.put(hubId, clock.instant());
        reconcile(hubId);
      }
    });
    return this;
  }

  /** The connection's node crashed or cannot be reached: it will not hand back what the connection held. */
  private boolean nodeLost(ActorRef<HubConnection.Command> connection) {
    Address node = connection.path().address();
    ClusterEvent.CurrentClusterState state = Cluster.get(getContext().getSystem()).state();
    boolean member = StreamSupport.stream(state.getMembers().spliterator(), false)
        .anyMatch(m -> m.address().equals(node) && m.status() != MemberStatus.down());
    return !member || state.getUnreachable().stream().anyMatch(m -> m.address().equals(node));
  }

  /**
   * The hub's endpoints offer again what this connection had accepted, now rather than at the ack timeout
   * (a node that stops in order hands it back itself, from the connection's PostStop; a crashed one cannot).
   */
  private void hubGone(String hubId, ActorRef<HubConnection.Command> connection) {
    getContext().getLog().info("hub connection lost with its node hub={} node={}: its webhooks are offered again",
        hubId, connection.path().address());
    DeliveryProtocol.HubGone gone = new DeliveryProtocol.HubGone(
        HubConnection.connectionId(getContext().getSystem(), connection));
    endpoints.ofHub(hubId).forEach(id -> endpoints.tell(id, gone));
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
      HubPresence connection = view.get(hubId);
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
      // Only authenticated ones: a refused connection was never in the presence map (nor would it leave).
      gone.add(stopped.connection());
      Local current = live.get(hubId);
      if (current != null && current.connection().equals(stopped.connection())) {
        live.remove(hubId);
        metrics.connected(live.size());
        lastDisconnected.put(hubId, clock.instant());
        removePresence(stopped.connection());
        reconcile(hubId);
      }
    }
    return this;
  }
}
