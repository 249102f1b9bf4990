package dev.conduit.tunnel;

import dev.conduit.persistence.EntityKeeper;
import dev.conduit.persistence.EntityLimits;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * Supervises every instance connection and client session, and knows which connection is live for
 * which instance id: exactly one per registered id, guarded by the key pin, decided by registration
 * generation and possession proof ({@link Registration}). Only control traffic (register, connect,
 * status) passes through here; session frames never do.
 */
public final class TunnelRegistry extends AbstractBehavior<TunnelRegistry.Command> {

  public sealed interface Command {}

  /** A new instance WebSocket: spawn its actor and answer with it. */
  public record AcceptInstance(SourceQueueWithComplete<java.util.List<Message>> out, String clientIp,
                               ActorRef<ActorRef<InstanceConnection.Command>> replyTo) implements Command {}

  /** A new client WebSocket: spawn its session actor and answer with it. */
  public record AcceptClient(SourceQueueWithComplete<java.util.List<Message>> out, String clientIp,
                             ActorRef<ActorRef<ClientSession.Command>> replyTo) implements Command {}

  /** proven: the connection proved possession of register's private key (relay protocol 1.1). */
  public record Register(InstanceFrame.Register register, ActorRef<InstanceConnection.Command> connection,
                         boolean proven) implements Command {}

  public record Connect(String instanceId, ActorRef<ClientSession.Command> client,
                        SourceQueueWithComplete<java.util.List<Message>> clientOut,
                        String clientPublicKey, ClientSession.ClaimGrant claim) implements Command {}

  public record GetInstance(String instanceId, ActorRef<InstanceLookup> replyTo) implements Command {}

  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /** The relay is stopping: every socket is told so and closed, so peers reconnect at once. */
  public record CloseAll(ActorRef<Done> replyTo) implements Command {}

  /** status is null when the instance is unknown; an offline one carries its last known status. */
  public record InstanceLookup(InstanceConnection.InstanceStatus status) {}

  public record Stats(int instancesOnline, long sessionsOpen, long sessionsOpened, long bytesRelayed, long framesRelayed) {}

  private record PinChecked(Register request, long generation, KeyPin.Result result, Throwable failure)
      implements Command {}

  /** The live holder was pinged for an unproven newcomer; answered is false when no pong came in time. */
  private record Probed(Register request, long generation, KeyPin.Result pin,
                        ActorRef<InstanceConnection.Command> holder, boolean answered) implements Command {}

  private record PinLookedUp(Connect request, KeyPin.Result result, Throwable failure) implements Command {}

  private record StatusFetched(InstanceConnection.InstanceStatus status, Throwable failure,
                               ActorRef<InstanceLookup> replyTo, String instanceId) implements Command {}

  private record ConnectionStopped(ActorRef<InstanceConnection.Command> connection) implements Command {}

  private record SessionStopped(ActorRef<ClientSession.Command> session) implements Command {}

  /** A registered connection is going away; its last status is kept for the status endpoint. */
  public record Departed(ActorRef<InstanceConnection.Command> connection, InstanceConnection.InstanceStatus lastStatus)
      implements Command {}


  private final TunnelContext tunnel;
  private final ActorRef<EntityKeeper.Command<KeyPin.Command>> pins;
  private final Map<String, Registration.Holder<ActorRef<InstanceConnection.Command>>> live = new HashMap<>();
  /** Connections told they were replaced, until they stop: never made live again. */
  private final Set<ActorRef<InstanceConnection.Command>> replaced = new HashSet<>();
  /** Registration generations: strictly increasing in the order registrations reach the registry. */
  private long generations;
  private final Map<ActorRef<InstanceConnection.Command>, String> instanceIdOf = new HashMap<>();
  /** Every open socket's actor, registered or not, for CloseAll. */
  private final Set<ActorRef<InstanceConnection.Command>> connections = new HashSet<>();
  private final Set<ActorRef<ClientSession.Command>> sessions = new HashSet<>();
  private final Map<String, InstanceConnection.InstanceStatus> offline = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, InstanceConnection.InstanceStatus> eldest) {
      return size() > tunnel.settings().offlineStatusRetained();
    }
  };
  private long spawned;

  private TunnelRegistry(ActorContext<Command> context, TunnelSettings settings, RateLimiter rateLimiter,
                         TunnelMetrics metrics, Clock clock, EntityLimits entityLimits) {
    super(context);
    this.pins = context.spawn(EntityKeeper.create("pin", id -> KeyPin.create(id, clock), KeyPin.Passivate.INSTANCE,
        entityLimits, clock), "key-pins");
    ActorRef<EntityKeeper.Command<ClaimCode.Command>> claims = context.spawn(EntityKeeper.create("claim",
        code -> ClaimCode.create(code, clock), ClaimCode.Passivate.INSTANCE, entityLimits, clock), "claim-codes");
    this.tunnel = new TunnelContext(settings, rateLimiter, metrics, clock, context.getSelf(), claims);
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
        .onMessage(Register.class, this::onRegister)
        .onMessage(PinChecked.class, this::onPinChecked)
        .onMessage(Probed.class, this::onProbed)
        .onMessage(Connect.class, this::onConnect)
        .onMessage(PinLookedUp.class, this::onPinLookedUp)
        .onMessage(ConnectionStopped.class, this::onConnectionStopped)
        .onMessage(Departed.class, this::onDeparted)
        .onMessage(GetInstance.class, this::onGetInstance)
        .onMessage(StatusFetched.class, this::onStatusFetched)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(CloseAll.class, this::onCloseAll)
        .onMessage(SessionStopped.class, stopped -> {
          sessions.remove(stopped.session());
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
    accept.replyTo().tell(connection);
    return this;
  }

  private Behavior<Command> onAcceptClient(AcceptClient accept) {
    ActorRef<ClientSession.Command> session = getContext().spawn(
        Behaviors.supervise(ClientSession.create(tunnel, accept.out(), accept.clientIp()))
            .onFailure(SupervisorStrategy.stop()), "client-" + (++spawned));
    getContext().watchWith(session, new SessionStopped(session));
    sessions.add(session);
    accept.replyTo().tell(session);
    return this;
  }

  private Behavior<Command> onRegister(Register request) {
    String instanceId = request.register().instanceId();
    long generation = ++generations;
    getContext().ask(KeyPin.Result.class, pins, tunnel.settings().askTimeout(),
        replyTo -> EntityKeeper.deliver(instanceId, new KeyPin.Check(request.register().publicKeyBase64(),
            request.proven(), replyTo)),
        (result, failure) -> new PinChecked(request, generation, result, failure));
    return this;
  }

  private Behavior<Command> onPinChecked(PinChecked checked) {
    InstanceFrame.Register register = checked.request().register();
    ActorRef<InstanceConnection.Command> connection = checked.request().connection();
    if (checked.failure() != null) {
      getContext().getLog().warn("key pin check failed instance={} cause={}", register.instanceId(), checked.failure().toString());
      connection.tell(new InstanceConnection.RegisterOutcome(register, false,
          Replies.registrationFailed(), "key pin unavailable: " + checked.failure().getMessage()));
      return this;
    }
    if (checked.result() == KeyPin.Result.MISMATCH) {
      connection.tell(new InstanceConnection.RegisterOutcome(register, false,
          Replies.refusal("key_mismatch", "Instance id is registered with another public key"),
          "public key differs from the pinned key (hijack attempt?)"));
      return this;
    }
    if (checked.result() == KeyPin.Result.PROOF_REQUIRED) {
      connection.tell(new InstanceConnection.RegisterOutcome(register, false, Replies.proofRequired(),
          "the id proved possession of its key before; a register without proof cannot take it"));
      return this;
    }
    return decide(checked.request(), checked.generation(), checked.result(), null, Registration.Liveness.UNKNOWN);
  }

  private Behavior<Command> onProbed(Probed probed) {
    return decide(probed.request(), probed.generation(), probed.pin(), probed.holder(),
        probed.answered() ? Registration.Liveness.ANSWERED : Registration.Liveness.SILENT);
  }

  /** Applies {@link Registration#decide}; a probe result counts only while the probed holder is still live. */
  private Behavior<Command> decide(Register request, long generation, KeyPin.Result pin,
                                   ActorRef<InstanceConnection.Command> probed, Registration.Liveness liveness) {
    InstanceFrame.Register register = request.register();
    ActorRef<InstanceConnection.Command> connection = request.connection();
    if (getContext().getChild(connection.path().name()).isEmpty()) {
      return this; // the connection closed while its key was being checked
    }
    Registration.Holder<ActorRef<InstanceConnection.Command>> holder = live.get(register.instanceId());
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
      connection.tell(new InstanceConnection.RegisterOutcome(register, false, refusal, switch (refuse.reason()) {
        case REPLACED -> "this connection was replaced already";
        case SUPERSEDED -> "a newer registration (generation " + holder.generation() + " > " + generation + ") holds the id";
        case ALREADY_CONNECTED -> "the live connection answered the probe (prove possession to replace it)";
      }));
      return this;
    }
    if (decision instanceof Registration.Install<ActorRef<InstanceConnection.Command>> install
        && install.replaced() != null) {
      ActorRef<InstanceConnection.Command> previous = install.replaced();
      replaced.add(previous);
      instanceIdOf.remove(previous);
      previous.tell(InstanceConnection.Replaced.INSTANCE);
      getContext().getLog().info("instance connection replaced instance={} by={} generation={}", register.instanceId(),
          request.proven() ? "possession proof" : "silent holder", generation);
    }
    live.put(register.instanceId(), new Registration.Holder<>(connection, generation));
    tunnel.metrics().instancesOnline.set(live.size());
    instanceIdOf.put(connection, register.instanceId());
    offline.remove(register.instanceId());
    connection.tell(new InstanceConnection.RegisterOutcome(register, true, null,
        pin == KeyPin.Result.PINNED_NOW ? "pinned" : "matches pin"));
    return this;
  }

  private Behavior<Command> onConnect(Connect connect) {
    ActorRef<InstanceConnection.Command> connection = liveConnection(connect.instanceId());
    if (connection != null) {
      connection.tell(new InstanceConnection.OpenSession(connect.client(), connect.clientOut(),
          connect.clientPublicKey(), connect.claim()));
      return this;
    }
    // Not live: a pinned id is a known instance that is offline, anything else was never registered.
    getContext().ask(KeyPin.Result.class, pins, tunnel.settings().askTimeout(),
        replyTo -> EntityKeeper.deliver(connect.instanceId(), new KeyPin.Lookup(replyTo)),
        (result, failure) -> new PinLookedUp(connect, result, failure));
    return this;
  }

  private Behavior<Command> onPinLookedUp(PinLookedUp looked) {
    Connect connect = looked.request();
    if (liveConnection(connect.instanceId()) != null) {
      return onConnect(connect);
    }
    boolean known = looked.failure() == null && looked.result() != KeyPin.Result.NOT_PINNED;
    String error = Replies.error(known || looked.failure() != null ? Replies.INSTANCE_OFFLINE : Replies.INSTANCE_NOT_FOUND);
    connect.client().tell(new ClientSession.ConnectFailed(error, connect.claim()));
    return this;
  }

  private Behavior<Command> onConnectionStopped(ConnectionStopped stopped) {
    connections.remove(stopped.connection());
    replaced.remove(stopped.connection());
    String instanceId = instanceIdOf.remove(stopped.connection());
    if (instanceId != null && stopped.connection().equals(liveConnection(instanceId))) {
      live.remove(instanceId);
      tunnel.metrics().instancesOnline.set(live.size());
    }
    return this;
  }

  private Behavior<Command> onDeparted(Departed departed) {
    String instanceId = departed.lastStatus().instanceId();
    ActorRef<InstanceConnection.Command> current = liveConnection(instanceId);
    if (current == null || current.equals(departed.connection())) {
      live.remove(instanceId);
      tunnel.metrics().instancesOnline.set(live.size());
      offline.put(instanceId, departed.lastStatus());
    }
    instanceIdOf.remove(departed.connection());
    return this;
  }

  private Behavior<Command> onGetInstance(GetInstance get) {
    ActorRef<InstanceConnection.Command> connection = liveConnection(get.instanceId());
    if (connection == null) {
      get.replyTo().tell(new InstanceLookup(offline.get(get.instanceId())));
      return this;
    }
    // Half the caller's timeout: a connection that just stopped must still leave time to answer from `offline`.
    getContext().ask(InstanceConnection.InstanceStatus.class, connection, tunnel.settings().askTimeout().dividedBy(2),
        InstanceConnection.GetStatus::new,
        (status, failure) -> new StatusFetched(status, failure, get.replyTo(), get.instanceId()));
    return this;
  }

  private Behavior<Command> onStatusFetched(StatusFetched fetched) {
    fetched.replyTo().tell(new InstanceLookup(fetched.status() != null ? fetched.status() : offline.get(fetched.instanceId())));
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

  private ActorRef<InstanceConnection.Command> liveConnection(String instanceId) {
    Registration.Holder<ActorRef<InstanceConnection.Command>> holder = live.get(instanceId);
    return holder == null ? null : holder.connection();
  }

  private Behavior<Command> onGetStats(GetStats get) {
    TunnelMetrics metrics = tunnel.metrics();
    get.replyTo().tell(new Stats(live.size(), metrics.openSessions(), metrics.sessionsOpened(),
        metrics.bytesRelayed(), metrics.framesRelayed()));
    return this;
  }
}
