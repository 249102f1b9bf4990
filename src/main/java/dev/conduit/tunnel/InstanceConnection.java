package dev.conduit.tunnel;

import dev.conduit.cluster.ClusterSerializable;
import dev.conduit.server.Durations;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.SinkRef;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * One instance's WebSocket: registration (the possession proof of relay protocol 1.1 here, then the
 * instance's {@link InstanceLocation} entity, on whichever node it runs, which checks the key pin and
 * decides who holds the id cluster-wide), liveness and liveness probes, claim codes, and the table of
 * sessions it carries. Frames from the instance to a client go straight from here to that client's
 * socket queue when the client is on this node, else into a stream ref to it ({@link CrossNode}); only
 * control traffic passes through the location entity.
 */
public final class InstanceConnection extends AbstractBehavior<InstanceConnection.Command> {

  public sealed interface Command permits SocketEvent, RegisterOutcome, Replaced, OpenSession, SessionEnded,
      LivenessExpired, ClaimCreated, GetStatus, NotReading, ServerStopping, Probe, ProofExpired, Delivered,
      DeliveryStalled, ReassertLocation, ReassertConfirmed, RegisterTimedOut, ClientReady {}

  /**
   * The location entity's answer to this connection's register (one at a time); refusal is the error
   * frame to send when refused (null if accepted); generation is the accepted registration's (0 if refused).
   */
  public record RegisterOutcome(boolean accepted, Replies.ErrorFrame refusal, String reason, long generation)
      implements Command, ClusterSerializable {
    static RegisterOutcome refused(Replies.ErrorFrame refusal, String reason) {
      return new RegisterOutcome(false, refusal, reason, 0);
    }
  }

  /** A newer connection registered the same instance with the same key. */
  public enum Replaced implements Command, ClusterSerializable { INSTANCE }

  /**
   * The instance's location entity lost its memory (its shard moved, or the node it ran on was removed):
   * a registered connection re-asserts that it holds its id.
   */
  public enum ReassertLocation implements Command, ClusterSerializable { INSTANCE }

  /** The location entity confirmed a re-assert. */
  enum ReassertConfirmed implements Command { INSTANCE }

  /** The client of a cross-node session is ready: toClient is a stream ref into its socket queue. */
  public record ClientReady(String sessionId, SinkRef<TunnelFrame> toClient) implements Command, ClusterSerializable {}

  /**
   * The registry asks whether this connection still answers (an unproven newcomer wants its id): the
   * instance is sent a ping, and replyTo gets Alive when its pong arrives. No answer means none came.
   */
  public record Probe(ActorRef<Alive> replyTo) implements Command, ClusterSerializable {}

  public enum Alive implements ClusterSerializable { INSTANCE }

  /** The instance did not answer its challenge within proof-timeout. */
  enum ProofExpired implements Command { INSTANCE }

  /** The location did not answer a register in time (its node crashed and is not yet removed). */
  enum RegisterTimedOut implements Command { INSTANCE }

  /** The relay is shutting down. */
  public enum ServerStopping implements Command { INSTANCE }

  /**
   * A client wants a session with this instance (routed by the location entity). A client on this node is
   * paired queue to queue; one on another node through stream refs ({@link CrossNode}).
   */
  public record OpenSession(ActorRef<ClientSession.Command> client, String clientPublicKey,
                            ClientSession.ClaimGrant claim) implements Command, ClusterSerializable {}

  /** The client side of a session has gone; reason goes to the instance in session_closed. */
  public record SessionEnded(String sessionId, String reason) implements Command, ClusterSerializable {}

  enum LivenessExpired implements Command { INSTANCE }

  record ClaimCreated(InstanceFrame.CreateClaim request, String code, String claimId, Instant expiresAt,
                      ClaimCode.CreateResult result, Throwable failure, int attempt) implements Command {}

  public record GetStatus(ActorRef<InstanceStatus> replyTo) implements Command, ClusterSerializable {}

  /** A control frame could not even be queued: the instance stopped reading its socket long ago. */
  record NotReading(Throwable cause) implements Command {}

  /** Every queue took what inbound batch number seq produced. */
  record Delivered(long seq) implements Command {}

  /** Batch seq's frames were still not taken after slow-consumer-grace. */
  record DeliveryStalled(long seq) implements Command {}

  public record InstanceStatus(String instanceId, boolean online, Instant registeredAt, Instant lastSeen,
                               int sessions, List<String> directUrls) implements ClusterSerializable {}

  /**
   * A session as the instance side sees it: the client's actor and its socket queue (done at once for a
   * client on this node; for one on another node, a queue into its stream ref once it sent it). remote:
   * the queue is this session's own (completed when the session ends), not the client's socket queue.
   */
  private record SessionLink(ActorRef<ClientSession.Command> client,
                             CompletableFuture<SourceQueueWithComplete<List<Message>>> out, boolean remote) {}

  /** What one inbound batch produced for one session's client. */
  private record ToClient(SessionLink link, List<Message> frames) {}

  /**
   * An inbound batch whose output is not queued yet: the instance's socket is not read on (not acked)
   * until it is, or until slow-consumer-grace says who does not read. own is null when there were no replies.
   */
  private record Delivery(long seq, ActorRef<SocketEvent.Ack> ackTo, CompletableFuture<QueueOfferResult> own,
                          Map<String, CompletableFuture<QueueOfferResult>> clients) {}

  private static final Object LIVENESS = "liveness";
  private static final Object PROOF = "proof";
  private static final Object REGISTER = "register";
  private static final Object STALL = "stall";
  private static final int SESSION_ID_BYTES = 16;
  private static final int MAX_CLAIM_CODE_ATTEMPTS = 5;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final TunnelContext tunnel;
  private final SourceQueueWithComplete<List<Message>> out;
  private final String clientIp;
  private final TimerScheduler<Command> timers;
  private final Map<String, SessionLink> sessions = new HashMap<>();

  private InstanceFrame.Register registration;
  /** The generation the location entity accepted registration at (re-asserted with it). */
  private long generation;
  private boolean registering;
  /** The register waiting for the location entity's outcome. */
  private InstanceFrame.Register pendingRegister;
  private Instant registeredAt;
  private Instant lastSeen;
  private List<String> directUrls = List.of();
  private boolean closing;
  /** The challenge sent for the register waiting for its proof (null when none). */
  private PossessionProof.Challenge challenge;
  private InstanceFrame.Register challenged;
  /** The public key this connection proved it holds the private key of (null until it did). */
  private byte[] provenKey;
  /** Liveness probes waiting for the instance's pong. */
  private final List<ActorRef<Alive>> probes = new java.util.ArrayList<>();
  /** While a batch is handled: the replies it earns (queued at its end, in one offer). */
  private List<Message> replies;
  /** While a batch is handled: its frames for each session, in order (one offer per client at its end). */
  private Map<String, ToClient> toClients;
  private long deliveries;
  private Delivery pending;

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
        .onMessage(Replaced.class, replaced -> closeWith("replaced", Replies.replaced().text(), "replaced"))
        .onMessage(ServerStopping.class, stopping -> closeWith("shutting_down", Replies.shuttingDown(), "relay stopping"))
        .onMessage(OpenSession.class, this::onOpenSession)
        .onMessage(SessionEnded.class, this::onSessionEnded)
        .onMessage(LivenessExpired.class, expired -> closeWith("timeout",
            Replies.error("timeout", "No register, ping or pong within " + Durations.text(tunnel.settings().instanceTimeout())),
            "evicted: silent for " + tunnel.settings().instanceTimeout()))
        .onMessage(ClaimCreated.class, this::onClaimCreated)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(NotReading.class, notReading -> closeNotReading(notReading.cause().getMessage()))
        .onMessage(Probe.class, this::onProbe)
        .onMessage(ProofExpired.class, expired -> onProofExpired())
        .onMessage(RegisterTimedOut.class, timedOut -> onRegisterTimedOut())
        .onMessage(ReassertLocation.class, this::onReassertLocation)
        .onMessage(ReassertConfirmed.class, confirmed -> this)
        .onMessage(ClientReady.class, this::onClientReady)
        .onMessage(Delivered.class, this::onDelivered)
        .onMessage(DeliveryStalled.class, this::onDeliveryStalled)
        .onSignal(PostStop.class, signal -> onStop())
        .build();
  }

  /**
   * Handles a batch of instance frames in order. Its replies and its frames for each client are queued
   * at its end, one offer per queue, and the next batch is read only once every queue took its part:
   * the instance's reading is what paces its replies and its clients (backpressure, bounded memory).
   */
  private Behavior<Command> onFrames(SocketEvent.Frames frames) {
    replies = new ArrayList<>();
    toClients = new LinkedHashMap<>();
    try {
      for (SocketEvent.Inbound inbound : frames.frames()) {
        if (closing) {
          break;
        }
        if (inbound instanceof SocketEvent.Utf8 utf8) {
          DataFrame.Relay relay = registration == null ? null : DataFrame.relayMessage(utf8.data());
          if (relay != null) {
            relayToClient(relay.sessionId(), relay.payload());
          } else {
            onFrame(utf8.text());
          }
        } else if (inbound instanceof SocketEvent.Text text) {
          onFrame(text.text());
        } else {
          onFrameTooLarge(inbound.bytes());
        }
      }
      return deliver(replies, toClients, frames.ackTo());
    } finally {
      replies = null;
      toClients = null;
    }
  }

  private Behavior<Command> deliver(List<Message> own, Map<String, ToClient> clients, ActorRef<SocketEvent.Ack> ackTo) {
    if (closing) {
      return Behaviors.stopped();
    }
    CompletableFuture<QueueOfferResult> ownOffer = own.isEmpty() ? null : out.offer(own).toCompletableFuture();
    Map<String, CompletableFuture<QueueOfferResult>> clientOffers = new LinkedHashMap<>();
    clients.forEach((sessionId, to) -> clientOffers.put(sessionId, offer(to.link(), to.frames())));
    Delivery delivery = new Delivery(++deliveries, ackTo, ownOffer, clientOffers);
    if (settled(delivery)) {
      return delivered(delivery);
    }
    pending = delivery;
    timers.startSingleTimer(STALL, new DeliveryStalled(delivery.seq()), tunnel.settings().slowConsumerGrace());
    List<CompletableFuture<?>> all = new ArrayList<>(clientOffers.values());
    if (ownOffer != null) {
      all.add(ownOffer);
    }
    CompletableFuture<Void> done = CompletableFuture.allOf(all.stream()
        .map(offer -> offer.handle((result, failure) -> null)).toArray(CompletableFuture[]::new));
    getContext().pipeToSelf(done, (ok, failure) -> new Delivered(delivery.seq()));
    return this;
  }

  /** Offers at once to a ready queue (always so on one node); to a cross-node one once its client is ready. */
  private static CompletableFuture<QueueOfferResult> offer(SessionLink link, List<Message> frames) {
    CompletableFuture<SourceQueueWithComplete<List<Message>>> out = link.out();
    if (out.isDone() && !out.isCompletedExceptionally()) {
      return out.join().offer(frames).toCompletableFuture();
    }
    return out.thenCompose(queue -> queue.offer(frames)).toCompletableFuture();
  }

  private static boolean settled(Delivery delivery) {
    return (delivery.own() == null || delivery.own().isDone())
        && delivery.clients().values().stream().allMatch(CompletableFuture::isDone);
  }

  /** Every offer settled: the next batch may come, unless the instance's own queue refused its replies. */
  private Behavior<Command> delivered(Delivery delivery) {
    if (delivery.own() != null && delivery.own().isCompletedExceptionally()) {
      return closeNotReading(delivery.own().handle((result, failure) -> failure.getMessage()).join());
    }
    return ack(delivery.ackTo());
  }

  private Behavior<Command> onDelivered(Delivered done) {
    if (pending == null || pending.seq() != done.seq()) {
      return this; // settled by the stall check already
    }
    Delivery delivery = pending;
    pending = null;
    timers.cancel(STALL);
    return delivered(delivery);
  }

  /**
   * The grace is over: a client whose queue still has not taken its frames does not read and loses its
   * session (slow_consumer); if the instance's own queue has not taken its replies, the instance does not read.
   */
  private Behavior<Command> onDeliveryStalled(DeliveryStalled stalled) {
    if (pending == null || pending.seq() != stalled.seq()) {
      return this;
    }
    Delivery delivery = pending;
    pending = null;
    if (delivery.own() != null && !delivery.own().isDone()) {
      return closeNotReading("replies not taken within " + Durations.text(tunnel.settings().slowConsumerGrace()));
    }
    delivery.clients().forEach((sessionId, offer) -> {
      SessionLink link = sessions.get(sessionId);
      if (!offer.isDone() && link != null) {
        getContext().getLog().info("client too slow, closing session={} instance={} reason=queue full for {}",
            sessionId, instanceId(), tunnel.settings().slowConsumerGrace());
        link.client().tell(ClientSession.SlowConsumer.INSTANCE); // counted there (ClientSession.abort)
        endSession(sessionId, "slow_consumer");
      }
    });
    return ack(delivery.ackTo());
  }

  private void onFrame(String text) {
    Decoded<InstanceFrame> decoded = TunnelCodec.decodeInstance(text, tunnel.settings().fieldLimits());
    if (decoded instanceof Decoded.Ok<InstanceFrame> ok) {
      handle(ok.frame());
    } else if (decoded instanceof Decoded.Invalid<InstanceFrame> invalid) {
      getContext().getLog().info("instance frame refused ip={} instance={} reason={}", clientIp, instanceId(), invalid.reason());
      tunnel.metrics().frameRefused(TunnelMetrics.Side.INSTANCE, invalid.code());
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
      probes.forEach(probe -> probe.tell(Alive.INSTANCE));
      probes.clear();
    } else if (frame instanceof InstanceFrame.Register register) {
      onRegister(register);
    } else if (frame instanceof InstanceFrame.Prove prove) {
      onProve(prove);
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

  /** A relay_message read from bytes: forwarded as bytes (a binary message, sent with the text opcode). */
  private void relayToClient(String sessionId, ByteString payload) {
    SessionLink link = sessions.get(sessionId);
    if (link == null) {
      send(Replies.error("unknown_session", "Unknown session"));
      getContext().getLog().debug("relay_message for unknown session instance={}", instanceId());
      return;
    }
    toClients.computeIfAbsent(sessionId, id -> new ToClient(link, new ArrayList<>())).frames()
        .add(BinaryMessage.create(Replies.messageToClient(payload)));
    tunnel.metrics().relayed(TunnelMetrics.Direction.TO_CLIENT, payload.size());
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
    toClients.computeIfAbsent(relay.sessionId(), id -> new ToClient(link, new ArrayList<>())).frames()
        .add(TextMessage.create(Replies.messageToClient(relay.payload())));
    tunnel.metrics().relayed(TunnelMetrics.Direction.TO_CLIENT, relay.payload().length());
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
    boolean proven = java.util.Arrays.equals(provenKey, register.publicKey());
    if (!proven && RelayVersion.offers(register.protocolVersions(), RelayVersion.POSSESSION_PROOF)) {
      // Relay protocol 1.1: the key must be proven before the registry sees the register.
      challenge = PossessionProof.Challenge.create();
      challenged = register;
      timers.startSingleTimer(PROOF, ProofExpired.INSTANCE, tunnel.settings().proofTimeout());
      send(Replies.challenge(challenge.ephemeral().publicKey(), challenge.nonce()));
      return;
    }
    askLocation(register, proven);
  }

  private void askLocation(InstanceFrame.Register register, boolean proven) {
    pendingRegister = register;
    tunnel.location(register.instanceId()).tell(new InstanceLocation.Register(register.publicKeyBase64(), proven,
        getContext().getSelf()));
    // The location decides within its key pin check and, for an unproven register, a liveness probe of
    // the holder; a register sent while the location's node had crashed and was not yet removed is lost,
    // and would leave this connection "registering" for good (every later register refused).
    timers.startSingleTimer(REGISTER, RegisterTimedOut.INSTANCE,
        tunnel.settings().askTimeout().multipliedBy(2).plus(tunnel.settings().livenessProbeTimeout()));
  }

  private Behavior<Command> onRegisterTimedOut() {
    InstanceFrame.Register register = pendingRegister;
    if (register == null) {
      return this;
    }
    pendingRegister = null;
    registering = false;
    getContext().getLog().info("registration failed instance={} ip={} reason=location did not answer in time",
        register.instanceId(), clientIp);
    Replies.ErrorFrame failed = Replies.registrationFailed();
    tunnel.metrics().registrationRefused(failed.code());
    send(failed.text());
    return this;
  }

  private void onProve(InstanceFrame.Prove prove) {
    if (challenge == null) {
      send(Replies.error("unexpected_proof", "No challenge pending: send register first"));
      return;
    }
    InstanceFrame.Register register = challenged;
    boolean valid = challenge.verify(register.instanceId(), register.publicKey(), prove.mac());
    challenge = null;
    challenged = null;
    timers.cancel(PROOF);
    if (!valid) {
      registering = false;
      getContext().getLog().info("registration refused instance={} ip={} reason=possession proof failed",
          register.instanceId(), clientIp);
      Replies.ErrorFrame refusal = Replies.proofFailed();
      tunnel.metrics().registrationRefused(refusal.code());
      send(refusal.text());
      return;
    }
    provenKey = register.publicKey();
    askLocation(register, true);
  }

  private Behavior<Command> onProofExpired() {
    if (challenge != null) {
      getContext().getLog().info("registration refused instance={} ip={} reason=no prove within {}",
          challenged.instanceId(), clientIp, tunnel.settings().proofTimeout());
      challenge = null;
      challenged = null;
      registering = false;
      Replies.ErrorFrame refusal = Replies.refusal("proof_timeout",
          "No prove within " + Durations.text(tunnel.settings().proofTimeout()));
      tunnel.metrics().registrationRefused(refusal.code());
      send(refusal.text());
    }
    return this;
  }

  private Behavior<Command> onProbe(Probe probe) {
    if (closing) {
      return this; // no answer: the registry counts the probe as unanswered
    }
    if (probes.isEmpty()) {
      send(Replies.ping());
    }
    probes.add(probe.replyTo());
    return this;
  }

  private Behavior<Command> onRegisterOutcome(RegisterOutcome outcome) {
    timers.cancel(REGISTER);
    registering = false;
    InstanceFrame.Register register = pendingRegister;
    pendingRegister = null;
    if (register == null) {
      return this;
    }
    if (!outcome.accepted()) {
      getContext().getLog().info("registration refused instance={} ip={} reason={}", register.instanceId(), clientIp, outcome.reason());
      tunnel.metrics().registrationRefused(outcome.refusal().code());
      send(outcome.refusal().text());
      return this;
    }
    boolean first = registration == null;
    registration = register;
    generation = outcome.generation();
    if (first) {
      tunnel.registry().tell(new TunnelRegistry.Registered(getContext().getSelf(), register.instanceId()));
    }
    directUrls = register.directUrls();
    if (first) {
      registeredAt = tunnel.clock().instant();
    }
    refreshLiveness();
    getContext().getLog().info("instance registered instance={} ip={} key={}", register.instanceId(), clientIp, outcome.reason());
    boolean proven = java.util.Arrays.equals(provenKey, register.publicKey());
    send(Replies.registered(proven ? RelayVersion.POSSESSION_PROOF : RelayVersion.CURRENT));
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
    SourceQueueWithComplete<List<Message>> local = tunnel.localSocket(open.client());
    SinkRef<TunnelFrame> toInstance = null;
    if (local != null) {
      sessions.put(sessionId, new SessionLink(open.client(), CompletableFuture.completedFuture(local), false));
    } else {
      // The client is on another node: it gets a stream ref into this socket, and sends one into its own.
      toInstance = CrossNode.into(out, tunnel.settings().crossNodeFramesInFlight(), tunnel.materializer());
      sessions.put(sessionId, new SessionLink(open.client(), new CompletableFuture<>(), true));
    }
    // The client may be gone before it learns it was paired: its end must still end the session here.
    getContext().watchWith(open.client(), new SessionEnded(sessionId, "client_closed"));
    tunnel.metrics().openSessions.incrementAndGet();
    tunnel.metrics().sessionsOpened.increment();
    send(Replies.connection(sessionId, open.clientPublicKey()));
    Replies.InstanceInfo info = new Replies.InstanceInfo(registration.instanceId(), registration.publicKeyBase64(),
        directUrls, registration.protocolVersions());
    open.client().tell(new ClientSession.Paired(sessionId, info, getContext().getSelf(), toInstance, open.claim()));
    return this;
  }

  private Behavior<Command> onClientReady(ClientReady ready) {
    SessionLink link = sessions.get(ready.sessionId());
    if (link == null || !link.remote() || link.out().isDone()) {
      CrossNode.discard(ready.toClient(), tunnel.materializer()); // the session ended meanwhile
      return this;
    }
    link.out().complete(CrossNode.queueTo(ready.toClient(), tunnel.materializer()));
    return this;
  }

  /**
   * Re-asserts this registration until the location entity confirms it got it: right after a node was
   * removed, a region may still route the shard to the dead node, and the message is lost. Each attempt
   * waits ask-timeout; stops once this connection closes.
   */
  private Behavior<Command> onReassertLocation(ReassertLocation reassert) {
    if (registration != null && !closing) {
      getContext().ask(InstanceLocation.Reasserted.class, tunnel.location(registration.instanceId()),
          tunnel.settings().askTimeout(),
          replyTo -> new InstanceLocation.Reassert(getContext().getSelf(), generation, replyTo),
          (confirmed, failure) -> failure == null ? ReassertConfirmed.INSTANCE : ReassertLocation.INSTANCE);
    }
    return this;
  }

  private Behavior<Command> onSessionEnded(SessionEnded ended) {
    endSession(ended.sessionId(), ended.reason());
    return this;
  }

  private void endSession(String sessionId, String reason) {
    SessionLink link = sessions.remove(sessionId);
    if (link != null) {
      getContext().unwatch(link.client());
      closeLink(link);
      tunnel.metrics().openSessions.decrementAndGet();
      send(Replies.sessionClosed(sessionId, reason));
    }
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
    getContext().ask(ClaimCode.CreateResult.class, tunnel.claim(code), tunnel.settings().askTimeout(),
        replyTo -> new ClaimCode.Create(claimId, registration.instanceId(), request.userId(), expiresAt, replyTo),
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
    Replies.ErrorFrame reply = Replies.frameTooLarge(tunnel.settings().maxFrameBytes());
    tunnel.metrics().frameRefused(TunnelMetrics.Side.INSTANCE, reply.code());
    send(reply.text());
  }

  private Behavior<Command> onSocketFailed(SocketEvent.Failed failed) {
    getContext().getLog().info("instance socket failed instance={} ip={} cause={}", instanceId(), clientIp, failed.cause().toString());
    return Behaviors.stopped();
  }

  /**
   * Queues a last error frame and the close marker behind it (the socket ends there, with a close frame
   * carrying code), and stops; the bridge gets them out within close-timeout.
   */
  private Behavior<Command> closeWith(String code, String errorFrame, String reason) {
    if (!closing) {
      closing = true;
      getContext().getLog().info("instance closed instance={} ip={} reason={}", instanceId(), clientIp, reason);
      out.offer(List.of(TextMessage.create(errorFrame), SocketClose.of(code)));
      endSessions();
    }
    return Behaviors.stopped();
  }

  private Behavior<Command> onStop() {
    if (registration != null) {
      tunnel.location(instanceId()).tell(new InstanceLocation.Departed(getContext().getSelf(),
          new InstanceStatus(instanceId(), false, registeredAt, lastSeen, 0, directUrls)));
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
    sessions.values().forEach(link -> {
      link.client().tell(ClientSession.InstanceGone.INSTANCE);
      closeLink(link);
    });
    tunnel.metrics().openSessions.addAndGet(-sessions.size());
    sessions.clear();
  }

  /** A cross-node session's own queue ends with it (the client's socket is the client's to close). */
  private static void closeLink(SessionLink link) {
    if (link.remote()) {
      link.out().thenAccept(SourceQueueWithComplete::complete);
    }
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
   * Control frames; data to the instance is offered by the client sessions themselves. Within a batch a
   * frame joins the batch's replies; outside one (bounded by sessions and rate limits) it is offered at
   * once. An offer only fails once the queue and every pending offer are full, so the socket is dropped
   * (with its reason), not the frame.
   */
  private void send(String json) {
    if (replies != null) {
      replies.add(TextMessage.create(json));
      return;
    }
    ActorRef<Command> self = getContext().getSelf();
    out.offer(List.of(TextMessage.create(json))).whenComplete((result, failure) -> {
      if (failure != null) {
        self.tell(new NotReading(failure));
      }
    });
  }

  /**
   * The instance does not read: its queue is failed (what it holds is dropped), and its socket ends with
   * a not_reading error and close frame, which it gets if it reads again within close-timeout.
   */
  private Behavior<Command> closeNotReading(String detail) {
    if (!closing) {
      closing = true;
      getContext().getLog().info("instance closed instance={} ip={} reason=not reading its socket ({})",
          instanceId(), clientIp, detail);
      tunnel.metrics().slowConsumerClosed(TunnelMetrics.Side.INSTANCE);
      out.fail(new SocketClose.Failed(Replies.error("not_reading", "Closed: not reading its socket (" + detail + ")"),
          SocketClose.of("not_reading")));
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
