package dev.conduit.tunnel;

import dev.conduit.cluster.ClusterSerializable;
import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * Where one instance id is connected, cluster-wide: a sharded entity per instance id (never a broadcast).
 * It decides who holds the id ({@link Registration}: key pin first, then generations and a liveness probe
 * of the holder, wherever it runs), routes a client's connect to the live connection on whichever node it
 * is, answers offline / not found from the key pin, and keeps the last status of an offline instance.
 *
 * <p>Its state lives in memory only and is rebuilt from the connections: it is never passivated while it
 * holds a live connection (no passivation strategy for this type; it passivates itself once it holds none
 * and was idle for the entity idle timeout). When its shard is handed off it tells its holder to re-assert
 * (the message waits in sharding's buffer for the new incarnation), and when the node that hosted it is
 * removed every node's {@link TunnelRegistry} has its connections re-assert (see there).
 */
public final class InstanceLocation extends AbstractBehavior<InstanceLocation.Command> {

  /** The sharding type; the entity id is the instance id. Nothing is persisted. */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "InstanceLocation");

  public sealed interface Command extends ClusterSerializable {}

  /** A registration of this id; proven: the connection proved possession of publicKeyBase64's private key. */
  public record Register(String publicKeyBase64, boolean proven, ActorRef<InstanceConnection.Command> connection)
      implements Command {}

  /**
   * connection holds this id, accepted at generation: rebuilds a location that was lost. Answered with
   * {@link Reasserted} whatever the outcome, so the connection knows it arrived: one sent while a
   * crashed node's shards were still mapped to it is lost, and is sent again.
   */
  public record Reassert(ActorRef<InstanceConnection.Command> connection, long generation,
                         ActorRef<Reasserted> replyTo) implements Command {}

  /** The answer to a {@link Reassert}: it reached the location entity. */
  public enum Reasserted implements ClusterSerializable { INSTANCE }

  /** A client wants a session with this instance: routed to the live connection, or answered ConnectFailed. */
  public record Connect(ActorRef<ClientSession.Command> client, String clientPublicKey, ClientSession.ClaimGrant claim)
      implements Command {}

  /** Answered with the live connection's status, the last status of an offline one, or null (unknown). */
  public record GetStatus(ActorRef<InstanceLookup> replyTo) implements Command {}

  /** status is null when the instance is unknown; an offline one carries its last known status. */
  public record InstanceLookup(InstanceConnection.InstanceStatus status) implements ClusterSerializable {}

  /** A registered connection is going away; its last status is kept for the status endpoints. */
  public record Departed(ActorRef<InstanceConnection.Command> connection, InstanceConnection.InstanceStatus lastStatus)
      implements Command {}

  /** Cluster Sharding's stop message (hand-off, or the passivation this entity asked for). */
  public enum Stop implements Command { INSTANCE }

  private enum Idle implements Command { INSTANCE }

  private record PinChecked(Register request, long generation, KeyPin.Result result, Throwable failure)
      implements Command {}

  /** The holder was pinged for an unproven newcomer; answered is false when no pong came in time. */
  private record Probed(Register request, long generation, KeyPin.Result pin,
                        ActorRef<InstanceConnection.Command> holder, boolean answered) implements Command {}

  private record PinLookedUp(Connect request, KeyPin.Result result, Throwable failure) implements Command {}

  private record StatusFetched(InstanceConnection.InstanceStatus status, ActorRef<InstanceLookup> replyTo)
      implements Command {}

  private record ConnectionStopped(ActorRef<InstanceConnection.Command> connection) implements Command {}

  /** How many stopped connections are remembered (see {@link #stopped}). */
  private static final int STOPPED_REMEMBERED = 64;

  private final String instanceId;
  private final TunnelContext tunnel;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final Duration idleTimeout;
  private Registration.Holder<ActorRef<InstanceConnection.Command>> holder;
  /** Connections told they were replaced, until they stop: never made live again. */
  private final Set<ActorRef<InstanceConnection.Command>> replaced = new HashSet<>();
  /**
   * Connections that stopped, most recent last: a register or re-assert of one still in flight (its key
   * pin check, a probe) must not install it. Bounded: only the last few can still have one in flight.
   */
  private final Set<ActorRef<InstanceConnection.Command>> stopped = new LinkedHashSet<>();
  /** Registration generations: strictly increasing in the order registrations reach this entity. */
  private long generations;
  private InstanceConnection.InstanceStatus offline;

  private InstanceLocation(ActorContext<Command> context, EntityContext<Command> entity, TunnelContext tunnel,
                           Duration idleTimeout) {
    super(context);
    this.instanceId = entity.getEntityId();
    this.shard = entity.getShard();
    this.tunnel = tunnel;
    this.idleTimeout = idleTimeout;
    idleWhileEmpty();
  }

  static Behavior<Command> create(EntityContext<Command> entity, TunnelContext tunnel, Duration idleTimeout) {
    return Behaviors.setup(context -> new InstanceLocation(context, entity, tunnel, idleTimeout));
  }

  /**
   * Starts this node's shard region for locations. No passivation strategy: a location holding a live
   * connection must stay (its state is not persisted); an empty one passivates itself after idleTimeout.
   */
  static void init(ActorSystem<?> system, TunnelContext tunnel, Duration idleTimeout) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, entity -> create(entity, tunnel, idleTimeout))
        .withStopMessage(Stop.INSTANCE)
        .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Register.class, this::onRegister)
        .onMessage(PinChecked.class, this::onPinChecked)
        .onMessage(Probed.class, probed -> decide(probed.request(), probed.generation(), probed.pin(), probed.holder(),
            probed.answered() ? Registration.Liveness.ANSWERED : Registration.Liveness.SILENT))
        .onMessage(Reassert.class, this::onReassert)
        .onMessage(Connect.class, this::onConnect)
        .onMessage(PinLookedUp.class, this::onPinLookedUp)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(StatusFetched.class, fetched -> {
          fetched.replyTo().tell(new InstanceLookup(fetched.status() != null ? fetched.status() : offline));
          return this;
        })
        .onMessage(Departed.class, this::onDeparted)
        .onMessage(ConnectionStopped.class, this::onConnectionStopped)
        .onMessage(Idle.class, idle -> {
          if (holder == null) {
            shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
          }
          return this;
        })
        .onMessage(Stop.class, stop -> onStop())
        .build();
  }

  private Behavior<Command> onRegister(Register request) {
    // Watched from now on: one that stops while its key is checked is then known to be gone (see stopped).
    getContext().watchWith(request.connection(), new ConnectionStopped(request.connection()));
    long generation = ++generations;
    getContext().ask(KeyPin.Result.class, tunnel.pin(instanceId), tunnel.settings().askTimeout(),
        replyTo -> new KeyPin.Check(request.publicKeyBase64(), request.proven(), replyTo),
        (result, failure) -> new PinChecked(request, generation, result, failure));
    return this;
  }

  private Behavior<Command> onPinChecked(PinChecked checked) {
    ActorRef<InstanceConnection.Command> connection = checked.request().connection();
    if (checked.failure() != null) {
      getContext().getLog().warn("key pin check failed instance={} cause={}", instanceId, checked.failure().toString());
      connection.tell(InstanceConnection.RegisterOutcome.refused(Replies.registrationFailed(),
          "key pin unavailable: " + checked.failure().getMessage()));
      return this;
    }
    if (checked.result() == KeyPin.Result.MISMATCH) {
      connection.tell(InstanceConnection.RegisterOutcome.refused(
          Replies.refusal("key_mismatch", "Instance id is registered with another public key"),
          "public key differs from the pinned key (hijack attempt?)"));
      return this;
    }
    if (checked.result() == KeyPin.Result.PROOF_REQUIRED) {
      connection.tell(InstanceConnection.RegisterOutcome.refused(Replies.proofRequired(),
          "the id proved possession of its key before; a register without proof cannot take it"));
      return this;
    }
    return decide(checked.request(), checked.generation(), checked.result(), null, Registration.Liveness.UNKNOWN);
  }

  /** Applies {@link Registration#decide}; a probe result counts only while the probed holder is still live. */
  private Behavior<Command> decide(Register request, long generation, KeyPin.Result pin,
                                   ActorRef<InstanceConnection.Command> probed, Registration.Liveness liveness) {
    ActorRef<InstanceConnection.Command> connection = request.connection();
    if (stopped.contains(connection)) {
      return this; // the connection closed while its key was being checked
    }
    Registration.Liveness known = holder != null && holder.connection().equals(probed)
        ? liveness : Registration.Liveness.UNKNOWN;
    Registration.Decision<ActorRef<InstanceConnection.Command>> decision = Registration.decide(holder,
        new Registration.Candidate<>(connection, generation, request.proven()), replaced.contains(connection), known);
    if (decision instanceof Registration.Probe<ActorRef<InstanceConnection.Command>> probe) {
      getContext().ask(InstanceConnection.Alive.class, probe.holder(), tunnel.settings().livenessProbeTimeout(),
          InstanceConnection.Probe::new,
          (alive, failure) -> new Probed(request, generation, pin, probe.holder(), failure == null));
      return this;
    }
    if (decision instanceof Registration.Refuse<ActorRef<InstanceConnection.Command>> refuse) {
      Replies.ErrorFrame refusal = refuse.reason() == Registration.Reason.REPLACED ? Replies.replaced() : Replies.alreadyConnected();
      connection.tell(InstanceConnection.RegisterOutcome.refused(refusal, switch (refuse.reason()) {
        case REPLACED -> "this connection was replaced already";
        case SUPERSEDED -> "a newer registration (generation " + holder.generation() + " > " + generation + ") holds the id";
        case ALREADY_CONNECTED -> "the live connection answered the probe (prove possession to replace it)";
      }));
      return this;
    }
    if (decision instanceof Registration.Install<ActorRef<InstanceConnection.Command>> install
        && install.replaced() != null) {
      replace(install.replaced());
      getContext().getLog().info("instance connection replaced instance={} by={} generation={}", instanceId,
          request.proven() ? "possession proof" : "silent holder", generation);
    }
    hold(connection, generation);
    connection.tell(new InstanceConnection.RegisterOutcome(true, null,
        pin == KeyPin.Result.PINNED_NOW ? "pinned" : "matches pin", generation));
    return this;
  }

  private Behavior<Command> onReassert(Reassert reassert) {
    reassert.replyTo().tell(Reasserted.INSTANCE);
    ActorRef<InstanceConnection.Command> connection = reassert.connection();
    if (stopped.contains(connection)) {
      return this;
    }
    generations = Math.max(generations, reassert.generation());
    Registration.Decision<ActorRef<InstanceConnection.Command>> decision =
        Registration.reassert(holder, connection, replaced.contains(connection));
    if (decision instanceof Registration.Install<ActorRef<InstanceConnection.Command>>) {
      getContext().getLog().info("instance location rebuilt instance={} generation={}", instanceId, reassert.generation());
      hold(connection, reassert.generation());
    } else if (decision instanceof Registration.Refuse<ActorRef<InstanceConnection.Command>> refuse) {
      getContext().getLog().info("instance re-assert refused instance={} reason={}", instanceId, refuse.reason());
      replace(connection);
    }
    return this;
  }

  private void hold(ActorRef<InstanceConnection.Command> connection, long generation) {
    if (holder == null || !holder.connection().equals(connection)) {
      getContext().watchWith(connection, new ConnectionStopped(connection));
    }
    holder = new Registration.Holder<>(connection, generation);
    offline = null;
    getContext().cancelReceiveTimeout();
  }

  /** previous is told replaced (its socket closes) and never installed again; watched until it stops. */
  private void replace(ActorRef<InstanceConnection.Command> previous) {
    if (replaced.add(previous)) {
      getContext().watchWith(previous, new ConnectionStopped(previous));
    }
    previous.tell(InstanceConnection.Replaced.INSTANCE);
  }

  private Behavior<Command> onConnect(Connect connect) {
    if (holder != null) {
      holder.connection().tell(new InstanceConnection.OpenSession(connect.client(), connect.clientPublicKey(),
          connect.claim()));
      return this;
    }
    // Not live: a pinned id is a known instance that is offline, anything else was never registered.
    getContext().ask(KeyPin.Result.class, tunnel.pin(instanceId), tunnel.settings().askTimeout(),
        KeyPin.Lookup::new, (result, failure) -> new PinLookedUp(connect, result, failure));
    return this;
  }

  private Behavior<Command> onPinLookedUp(PinLookedUp looked) {
    Connect connect = looked.request();
    if (holder != null) {
      return onConnect(connect);
    }
    boolean known = looked.failure() == null && looked.result() != KeyPin.Result.NOT_PINNED;
    String error = Replies.error(known || looked.failure() != null ? Replies.INSTANCE_OFFLINE : Replies.INSTANCE_NOT_FOUND);
    connect.client().tell(new ClientSession.ConnectFailed(error, connect.claim()));
    if (!known && looked.failure() == null && offline == null && generations == 0) {
      // An id never registered (a typo, or a peer probing random ids): nothing to keep, and nothing in
      // flight here (no registration came), so stop now rather than hold an entity per probed id for the
      // idle timeout. A message that arrives meanwhile waits in the shard for the next incarnation.
      shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    }
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus get) {
    if (holder == null) {
      get.replyTo().tell(new InstanceLookup(offline));
      return this;
    }
    // Half the caller's timeout: a connection that just stopped must still leave time to answer from `offline`.
    getContext().ask(InstanceConnection.InstanceStatus.class, holder.connection(),
        tunnel.settings().askTimeout().dividedBy(2), InstanceConnection.GetStatus::new,
        (status, failure) -> new StatusFetched(status, get.replyTo()));
    return this;
  }

  private Behavior<Command> onDeparted(Departed departed) {
    if (holder == null || holder.connection().equals(departed.connection())) {
      holder = null;
      offline = departed.lastStatus();
      idleWhileEmpty();
    }
    return this;
  }

  /** Stopped, or its node was removed from the cluster (a crashed node's connections end so). */
  private Behavior<Command> onConnectionStopped(ConnectionStopped stopped) {
    replaced.remove(stopped.connection());
    this.stopped.add(stopped.connection());
    if (this.stopped.size() > STOPPED_REMEMBERED) {
      Iterator<ActorRef<InstanceConnection.Command>> eldest = this.stopped.iterator();
      eldest.next();
      eldest.remove();
    }
    if (holder != null && holder.connection().equals(stopped.connection())) {
      holder = null;
      idleWhileEmpty();
    }
    return this;
  }

  /**
   * Hand-off (or the passivation asked for when empty): the holder re-asserts to the next incarnation,
   * which sharding starts wherever the shard goes; the message waits in sharding's buffer until then.
   */
  private Behavior<Command> onStop() {
    if (holder != null) {
      holder.connection().tell(InstanceConnection.ReassertLocation.INSTANCE);
    }
    return Behaviors.stopped();
  }

  private void idleWhileEmpty() {
    getContext().setReceiveTimeout(idleTimeout, Idle.INSTANCE);
  }
}
