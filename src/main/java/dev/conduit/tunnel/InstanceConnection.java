package dev.conduit.tunnel;

import dev.conduit.persistence.EntityKeeper;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * One instance's WebSocket: registration (through the registry, which checks the key pin), liveness,
 * claim codes, and the table of sessions it carries. Frames from the instance to a client go straight
 * from here to that client's socket queue; only control traffic passes through the registry.
 */
public final class InstanceConnection extends AbstractBehavior<InstanceConnection.Command> {

  public sealed interface Command permits SocketEvent, RegisterOutcome, Replaced, OpenSession, SessionEnded,
      LivenessExpired, ClaimCreated, GetStatus, NotReading, ServerStopping {}

  /** The registry's answer to a register; message is the error frame to send when refused. */
  public record RegisterOutcome(InstanceFrame.Register register, boolean accepted, String refusal, String reason)
      implements Command {}

  /** A newer connection registered the same instance with the same key. */
  public enum Replaced implements Command { INSTANCE }

  /** The relay is shutting down. */
  public enum ServerStopping implements Command { INSTANCE }

  /** A client wants a session with this instance. */
  public record OpenSession(ActorRef<ClientSession.Command> client, BoundedSourceQueue<Message> clientOut,
                            String clientPublicKey, ClientSession.ClaimGrant claim) implements Command {}

  /** The client side of a session has gone; reason goes to the instance in session_closed. */
  public record SessionEnded(String sessionId, String reason) implements Command {}

  enum LivenessExpired implements Command { INSTANCE }

  record ClaimCreated(InstanceFrame.CreateClaim request, String code, String claimId, Instant expiresAt,
                      ClaimCode.CreateResult result, Throwable failure, int attempt) implements Command {}

  public record GetStatus(ActorRef<InstanceStatus> replyTo) implements Command {}

  /** A control frame could not even be queued: the instance stopped reading its socket long ago. */
  record NotReading(Throwable cause) implements Command {}

  public record InstanceStatus(String instanceId, boolean online, Instant registeredAt, Instant lastSeen,
                               int sessions, List<String> directUrls) {}

  /** A session as the instance side sees it: the client's actor and its socket queue. */
  private record SessionLink(ActorRef<ClientSession.Command> client, BoundedSourceQueue<Message> out) {}

  private static final Object LIVENESS = "liveness";
  private static final int SESSION_ID_BYTES = 16;
  private static final int MAX_CLAIM_CODE_ATTEMPTS = 5;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final TunnelContext tunnel;
  private final SourceQueueWithComplete<List<Message>> out;
  private final String clientIp;
  private final TimerScheduler<Command> timers;
  private final Map<String, SessionLink> sessions = new HashMap<>();

  private InstanceFrame.Register registration;
  private boolean registering;
  private Instant registeredAt;
  private Instant lastSeen;
  private List<String> directUrls = List.of();
  private boolean closing;

  private InstanceConnection(ActorContext<Command> context, TimerScheduler<Command> timers, TunnelContext tunnel,
                             SourceQueueWithComplete<List<Message>> out, String clientIp) {
    super(context);
    this.timers = timers;
    this.tunnel = tunnel;
    this.out = out;
    this.clientIp = clientIp;
    refreshLiveness();
  }

  static Behavior<Command> create(TunnelContext tunnel, SourceQueueWithComplete<List<Message>> out, String clientIp) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new InstanceConnection(context, timers, tunnel, out, clientIp)));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(SocketEvent.Opened.class, opened -> ack(opened.ackTo()))
        .onMessage(SocketEvent.Frames.class, this::onFrames)
        .onMessage(SocketEvent.Closed.class, closed -> Behaviors.stopped())
        .onMessage(SocketEvent.Failed.class, this::onSocketFailed)
        .onMessage(RegisterOutcome.class, this::onRegisterOutcome)
        .onMessage(Replaced.class, replaced -> closeWith(
            Replies.error("replaced", "Replaced by a newer connection for this instance"), "replaced"))
        .onMessage(ServerStopping.class, stopping -> closeWith(Replies.shuttingDown(), "relay stopping"))
        .onMessage(OpenSession.class, this::onOpenSession)
        .onMessage(SessionEnded.class, this::onSessionEnded)
        .onMessage(LivenessExpired.class, expired -> closeWith(
            Replies.error("timeout", "No register, ping or pong within " + tunnel.settings().instanceTimeout().toSeconds() + " s"),
            "evicted: silent for " + tunnel.settings().instanceTimeout()))
        .onMessage(ClaimCreated.class, this::onClaimCreated)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(NotReading.class, this::onNotReading)
        .onSignal(PostStop.class, signal -> onStop())
        .build();
  }

  private Behavior<Command> onFrames(SocketEvent.Frames frames) {
    for (SocketEvent.Inbound inbound : frames.frames()) {
      if (closing) {
        break;
      }
      if (inbound instanceof SocketEvent.Text text) {
        onFrame(text.text());
      } else {
        onFrameTooLarge(inbound.bytes());
      }
    }
    return ack(frames.ackTo());
  }

  private void onFrame(String text) {
    Decoded<InstanceFrame> decoded = TunnelCodec.decodeInstance(text, tunnel.settings().fieldLimits());
    if (decoded instanceof Decoded.Ok<InstanceFrame> ok) {
      handle(ok.frame());
    } else if (decoded instanceof Decoded.Invalid<InstanceFrame> invalid) {
      getContext().getLog().info("instance frame refused ip={} instance={} reason={}", clientIp, instanceId(), invalid.reason());
      send(invalid.reply());
    }
  }

  private void handle(InstanceFrame frame) {
    if (frame instanceof InstanceFrame.RelayMessage relay) {
      relayToClient(relay);
    } else if (frame instanceof InstanceFrame.Ping) {
      refreshLiveness();
      send(Replies.pong());
    } else if (frame instanceof InstanceFrame.Pong) {
      refreshLiveness();
    } else if (frame instanceof InstanceFrame.Register register) {
      onRegister(register);
    } else if (frame instanceof InstanceFrame.UpdateUrls update) {
      if (requireRegistered()) {
        directUrls = update.directUrls();
        getContext().getLog().debug("direct urls updated instance={} urls={}", instanceId(), directUrls);
      }
    } else if (frame instanceof InstanceFrame.CreateClaim create) {
      if (requireRegistered() && allowedByRateLimit()) {
        createClaim(create, 1);
      }
    }
  }

  private void relayToClient(InstanceFrame.RelayMessage relay) {
    if (!requireRegistered()) {
      return;
    }
    SessionLink link = sessions.get(relay.sessionId());
    if (link == null) {
      send(Replies.error("unknown_session", "Unknown session"));
      getContext().getLog().debug("relay_message for unknown session instance={}", instanceId());
      return;
    }
    QueueOfferResult result = link.out().offer(TextMessage.create(Replies.messageToClient(relay.payload())));
    if (result == QueueOfferResult.enqueued()) {
      tunnel.metrics().bytesRelayed.add(relay.payload().length());
      tunnel.metrics().framesRelayed.increment();
    } else {
      // The client is not reading: close its session rather than buffer without bound.
      link.client().tell(ClientSession.SlowConsumer.INSTANCE);
    }
  }

  private void onRegister(InstanceFrame.Register register) {
    if (registering) {
      send(Replies.error("registration_in_progress", "Registration already in progress"));
      return;
    }
    if (registration != null && !registration.instanceId().equals(register.instanceId())) {
      send(Replies.error("already_registered", "This connection is registered as another instance"));
      return;
    }
    if (!allowedByRateLimit()) {
      return;
    }
    registering = true;
    refreshLiveness();
    tunnel.registry().tell(new TunnelRegistry.Register(register, getContext().getSelf()));
  }

  private Behavior<Command> onRegisterOutcome(RegisterOutcome outcome) {
    registering = false;
    InstanceFrame.Register register = outcome.register();
    if (!outcome.accepted()) {
      getContext().getLog().info("registration refused instance={} ip={} reason={}", register.instanceId(), clientIp, outcome.reason());
      send(outcome.refusal());
      return this;
    }
    boolean first = registration == null;
    registration = register;
    directUrls = register.directUrls();
    if (first) {
      registeredAt = tunnel.clock().instant();
    }
    refreshLiveness();
    getContext().getLog().info("instance registered instance={} ip={} key={}", register.instanceId(), clientIp, outcome.reason());
    send(Replies.registered());
    return this;
  }

  private Behavior<Command> onOpenSession(OpenSession open) {
    if (registration == null || closing) {
      open.client().tell(new ClientSession.ConnectFailed(Replies.error(Replies.INSTANCE_OFFLINE), open.claim()));
      return this;
    }
    if (sessions.size() >= tunnel.settings().maxSessionsPerInstance()) {
      getContext().getLog().info("session refused instance={} reason=too many sessions ({})", instanceId(), sessions.size());
      open.client().tell(new ClientSession.ConnectFailed(
          Replies.error("too_many_sessions", "Instance has too many sessions"), open.claim()));
      return this;
    }
    String sessionId = newSessionId();
    sessions.put(sessionId, new SessionLink(open.client(), open.clientOut()));
    // The client may be gone before it learns it was paired: its end must still end the session here.
    getContext().watchWith(open.client(), new SessionEnded(sessionId, "client_closed"));
    tunnel.metrics().openSessions.incrementAndGet();
    tunnel.metrics().sessionsOpened.increment();
    send(Replies.connection(sessionId, open.clientPublicKey()));
    Replies.InstanceInfo info = new Replies.InstanceInfo(registration.instanceId(), registration.publicKeyBase64(),
        directUrls, registration.protocolVersions());
    open.client().tell(new ClientSession.Paired(sessionId, info, getContext().getSelf(), out, open.claim()));
    return this;
  }

  private Behavior<Command> onSessionEnded(SessionEnded ended) {
    SessionLink link = sessions.remove(ended.sessionId());
    if (link != null) {
      getContext().unwatch(link.client());
      tunnel.metrics().openSessions.decrementAndGet();
      send(Replies.sessionClosed(ended.sessionId(), ended.reason()));
    }
    return this;
  }

  private void createClaim(InstanceFrame.CreateClaim request, int attempt) {
    Duration ttl = request.ttlSeconds() == null
        ? tunnel.settings().claimDefaultTtl() : Duration.ofSeconds(request.ttlSeconds());
    if (ttl.compareTo(tunnel.settings().claimMaxTtl()) > 0) {
      send(Replies.error("invalid_field", "Invalid field: ttl_seconds (at most " + tunnel.settings().claimMaxTtl().toSeconds() + ")"));
      return;
    }
    String code = ClaimCodes.generate();
    String claimId = UUID.randomUUID().toString();
    Instant expiresAt = tunnel.clock().instant().plus(ttl);
    getContext().ask(ClaimCode.CreateResult.class, tunnel.claims(), tunnel.settings().askTimeout(),
        replyTo -> EntityKeeper.deliver(code,
            new ClaimCode.Create(claimId, registration.instanceId(), request.userId(), expiresAt, replyTo)),
        (result, failure) -> new ClaimCreated(request, code, claimId, expiresAt, result, failure, attempt));
  }

  private Behavior<Command> onClaimCreated(ClaimCreated created) {
    if (created.failure() != null) {
      getContext().getLog().warn("claim creation failed instance={} cause={}", instanceId(), created.failure().toString());
      send(Replies.error("unavailable", "Could not create claim code, try again"));
    } else if (created.result() == ClaimCode.CreateResult.CODE_TAKEN) {
      if (created.attempt() < MAX_CLAIM_CODE_ATTEMPTS && registration != null) {
        createClaim(created.request(), created.attempt() + 1);
      } else {
        send(Replies.error("unavailable", "Could not create claim code, try again"));
      }
    } else {
      getContext().getLog().info("claim created instance={} claim={} expires_at={}", instanceId(), created.claimId(), created.expiresAt());
      send(Replies.claimCreated(created.code(), created.expiresAt(), created.request().requestId()));
    }
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus get) {
    get.replyTo().tell(new InstanceStatus(instanceId(), registration != null && !closing, registeredAt, lastSeen,
        sessions.size(), directUrls));
    return this;
  }

  private void onFrameTooLarge(long bytes) {
    getContext().getLog().info("instance frame refused ip={} instance={} reason=frame of {} bytes over limit {}",
        clientIp, instanceId(), bytes, tunnel.settings().maxFrameBytes());
    send(Replies.frameTooLarge(tunnel.settings().maxFrameBytes()));
  }

  private Behavior<Command> onSocketFailed(SocketEvent.Failed failed) {
    getContext().getLog().info("instance socket failed instance={} ip={} cause={}", instanceId(), clientIp, failed.cause().toString());
    return Behaviors.stopped();
  }

  /** Sends a last error frame, then closes the socket; the actor stops when the socket is gone. */
  private Behavior<Command> closeWith(String errorFrame, String reason) {
    if (!closing) {
      closing = true;
      getContext().getLog().info("instance closed instance={} ip={} reason={}", instanceId(), clientIp, reason);
      send(errorFrame);
      out.complete();
      endSessions();
    }
    return Behaviors.stopped();
  }

  private Behavior<Command> onStop() {
    if (registration != null) {
      tunnel.registry().tell(new TunnelRegistry.Departed(getContext().getSelf(), new InstanceStatus(instanceId(), false,
          registeredAt, lastSeen, 0, directUrls)));
    }
    if (!closing) {
      closing = true;
      out.complete();
      if (registration != null) {
        getContext().getLog().info("instance disconnected instance={} ip={} sessions={}", instanceId(), clientIp, sessions.size());
      }
    }
    endSessions();
    return this;
  }

  /** Every client of this instance is told it went away, and its socket is closed. */
  private void endSessions() {
    sessions.values().forEach(link -> link.client().tell(ClientSession.InstanceGone.INSTANCE));
    tunnel.metrics().openSessions.addAndGet(-sessions.size());
    sessions.clear();
  }

  private boolean requireRegistered() {
    if (registration == null) {
      send(Replies.error(Replies.NOT_REGISTERED));
    }
    return registration != null;
  }

  private boolean allowedByRateLimit() {
    if (tunnel.rateLimiter().tryAcquire(clientIp)) {
      return true;
    }
    getContext().getLog().info("rate limited ip={} instance={}", clientIp, instanceId());
    send(Replies.error("rate_limited", "Too many requests, slow down"));
    return false;
  }

  private void refreshLiveness() {
    lastSeen = tunnel.clock().instant();
    timers.startSingleTimer(LIVENESS, LivenessExpired.INSTANCE, tunnel.settings().instanceTimeout());
  }

  /**
   * Control frames; data to the instance is offered by the client sessions themselves. An offer only
   * fails once the queue and every pending offer are full, so the socket is dropped, not the frame.
   */
  private void send(String json) {
    ActorRef<Command> self = getContext().getSelf();
    out.offer(List.of(TextMessage.create(json))).whenComplete((result, failure) -> {
      if (failure != null) {
        self.tell(new NotReading(failure));
      }
    });
  }

  private Behavior<Command> onNotReading(NotReading notReading) {
    if (!closing) {
      closing = true;
      getContext().getLog().info("instance closed instance={} ip={} reason=not reading its socket ({})",
          instanceId(), clientIp, notReading.cause().getMessage());
      out.fail(notReading.cause());
      endSessions();
    }
    return Behaviors.stopped();
  }

  private Behavior<Command> ack(ActorRef<SocketEvent.Ack> ackTo) {
    ackTo.tell(SocketEvent.Ack.INSTANCE);
    return this;
  }

  private String instanceId() {
    return registration == null ? "-" : registration.instanceId();
  }

  private static String newSessionId() {
    byte[] bytes = new byte[SESSION_ID_BYTES];
    RANDOM.nextBytes(bytes);
    return Base64.getEncoder().withoutPadding().encodeToString(bytes);
  }
}
