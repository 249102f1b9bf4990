package dev.conduit.tunnel;

import dev.conduit.cluster.ClusterSerializable;
import dev.conduit.server.Durations;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.SinkRef;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.util.ByteString;

/**
 * One client WebSocket, which is one relayed session: connect (by instance id or claim code, through the
 * instance's {@link InstanceLocation} entity), then frames both ways until either side leaves. Client
 * frames go straight to the instance's socket queue when the instance is on this node, else to a queue of
 * the session's into a stream ref to it ({@link CrossNode}); either way the next frame is read only once
 * that queue took this one (backpressure, bounded memory).
 */
public final class ClientSession extends AbstractBehavior<ClientSession.Command> {

  public sealed interface Command permits SocketEvent, Paired, ConnectFailed, InstanceGone, SlowConsumer,
      IdleTimeout, ClaimChecked, Forwarded, ServerStopping, RepliesStalled, ConnectTimedOut {}

  /** The claim a connect was made with (null on the instance-id path); consumer is this attempt's token. */
  public record ClaimGrant(String code, String claimId, String userId, String consumer) {}

  /** A claim code being checked or spent by this session: given back unless the session gets paired. */
  private record PendingClaim(String code, String consumer) {}

  /**
   * The instance accepted the session. toInstance is null when the instance's socket is on this node (its
   * queue is taken from there), else a stream ref into it ({@link CrossNode}).
   */
  public record Paired(String sessionId, Replies.InstanceInfo instance,
                       ActorRef<InstanceConnection.Command> instanceConnection,
                       SinkRef<TunnelFrame> toInstance, ClaimGrant claim) implements Command, ClusterSerializable {}

  /** The connect failed; errorFrame goes to the client, which may try again. */
  public record ConnectFailed(String errorFrame, ClaimGrant claim) implements Command, ClusterSerializable {}

  /** The location did not answer a connect in time (its node crashed and is not yet removed). */
  record ConnectTimedOut(ClaimGrant claim) implements Command {}

  /** The instance's connection ended (or, on another node, stopped or was lost with its node). */
  public enum InstanceGone implements Command, ClusterSerializable { INSTANCE }

  public enum SlowConsumer implements Command, ClusterSerializable { INSTANCE }

  /** The relay is shutting down. */
  public enum ServerStopping implements Command { INSTANCE }

  enum IdleTimeout implements Command { INSTANCE }

  /** The replies of a batch were still not taken after slow-consumer-grace: the client does not read. */
  enum RepliesStalled implements Command { INSTANCE }

  record ClaimChecked(String code, ClaimCode.ConsumeResult result, Throwable failure) implements Command {}

  /** Both queues took (or refused) a batch's output; then the next client frame may come. */
  record Forwarded(ActorRef<SocketEvent.Ack> ackTo, Throwable failure) implements Command {}

  private static final Object IDLE = "idle";
  private static final Object STALL = "stall";
  private static final Object CONNECT = "connect";

  private final TunnelContext tunnel;
  private final SourceQueueWithComplete<List<Message>> out;
  private final String clientIp;
  private final TimerScheduler<Command> timers;

  private boolean connecting;
  /** The client key of a connect waiting for its claim code to be checked. */
  private String pendingClientKey;
  private PendingClaim pendingClaim;
  private String sessionId;
  private String instanceId;
  private ActorRef<InstanceConnection.Command> instance;
  /** The instance is on another node: instanceOut is this session's own queue into its stream ref. */
  private boolean remoteInstance;
  private SourceQueueWithComplete<List<Message>> instanceOut;
  /** The bytes every relay_message of this session starts with (set when paired). */
  private ByteString relayPrefix;
  private boolean closing;
  /** The socket's end is queued (or its queue failed): nothing more goes to it. */
  private boolean socketEnded;
  /** While a batch is handled: the replies it earns (queued at its end, in one offer). */
  private List<Message> replies;
  /** The replies of the batch being waited for, until the client's queue takes them. */
  private CompletableFuture<QueueOfferResult> repliesPending;

  private ClientSession(ActorContext<Command> context, TimerScheduler<Command> timers, TunnelContext tunnel,
                        SourceQueueWithComplete<List<Message>> out, String clientIp) {
    super(context);
    this.timers = timers;
    this.tunnel = tunnel;
    this.out = out;
    this.clientIp = clientIp;
    resetIdleTimer();
  }

  static Behavior<Command> create(TunnelContext tunnel, SourceQueueWithComplete<List<Message>> out, String clientIp) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ClientSession(context, timers, tunnel, out, clientIp)));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(SocketEvent.Opened.class, opened -> ack(opened.ackTo()))
        .onMessage(SocketEvent.Frames.class, this::onFrames)
        .onMessage(SocketEvent.Closed.class, closed -> end("client_closed"))
        .onMessage(SocketEvent.Failed.class, failed -> end("client_closed"))
        .onMessage(Forwarded.class, this::onForwarded)
        .onMessage(ClaimChecked.class, this::onClaimChecked)
        .onMessage(Paired.class, this::onPaired)
        .onMessage(ConnectFailed.class, this::onConnectFailed)
        .onMessage(ConnectTimedOut.class, this::onConnectTimedOut)
        .onMessage(InstanceGone.class, this::onInstanceGone)
        .onMessage(SlowConsumer.class, slow -> abort())
        .onMessage(RepliesStalled.class, this::onRepliesStalled)
        .onMessage(ServerStopping.class, stopping -> closeWith("shutting_down", Replies.shuttingDown(), "relay_stopping"))
        .onMessage(IdleTimeout.class, idle -> closeWith("idle_timeout", Replies.error("idle_timeout",
            "Closed after " + Durations.text(tunnel.settings().clientIdleTimeout()) + " without traffic"), "idle_timeout"))
        .onSignal(PostStop.class, signal -> {
          releasePendingClaim();
          leaveInstance("client_closed");
          if (!socketEnded) {
            out.complete(); // the peer closed (or the actor failed): end the outbound side too
          }
          return this;
        })
        .build();
  }

  /**
   * Handles a batch of client frames in order. Data for the instance is collected and offered to its
   * queue as one element, the replies the batch earns to the client's own queue as another; the next
   * batch is read only once both queues took theirs (backpressure). Replies the client does not take
   * within slow-consumer-grace close it (slow_consumer).
   */
  private Behavior<Command> onFrames(SocketEvent.Frames frames) {
    resetIdleTimer();
    replies = new ArrayList<>();
    try {
      return handleBatch(frames);
    } finally {
      replies = null;
    }
  }

  private Behavior<Command> handleBatch(SocketEvent.Frames frames) {
    List<Message> toInstance = new ArrayList<>();
    for (SocketEvent.Inbound inbound : frames.frames()) {
      if (closing) {
        return ack(frames.ackTo());
      }
      if (inbound instanceof SocketEvent.TooLarge) {
        onFrameTooLarge(inbound.bytes());
        continue;
      }
      ByteString payload = instance != null && inbound instanceof SocketEvent.Utf8 utf8
          ? DataFrame.clientPayload(utf8.data()) : null;
      if (payload != null) {
        collect(payload, toInstance);
        continue;
      }
      Decoded<ClientFrame> decoded = TunnelCodec.decodeClient(inbound instanceof SocketEvent.Utf8 utf8
          ? utf8.text() : ((SocketEvent.Text) inbound).text());
      if (decoded instanceof Decoded.Invalid<ClientFrame> invalid) {
        getContext().getLog().info("client frame refused ip={} session={} reason={}", clientIp, sessionId, invalid.reason());
        tunnel.metrics().frameRefused(TunnelMetrics.Side.CLIENT, invalid.code());
        send(invalid.reply());
        continue;
      }
      ClientFrame message = ((Decoded.Ok<ClientFrame>) decoded).frame();
      if (message instanceof ClientFrame.Message data) {
        collect(data, toInstance);
      } else if (message instanceof ClientFrame.Ping) {
        send(Replies.pong());
      } else if (message instanceof ClientFrame.Connect connect) {
        onConnect(connect);
      } else if (message instanceof ClientFrame.Close) {
        offer(toInstance);
        return closeWith("client_closed", null, "client_closed");
      }
    }
    CompletableFuture<QueueOfferResult> forwarded = future(offer(toInstance));
    CompletableFuture<QueueOfferResult> replied = replies.isEmpty() ? null : out.offer(replies).toCompletableFuture();
    if (done(forwarded) && done(replied)) {
      return ack(frames.ackTo());
    }
    if (!done(replied)) {
      repliesPending = replied;
      timers.startSingleTimer(STALL, RepliesStalled.INSTANCE, tunnel.settings().slowConsumerGrace());
    }
    CompletableFuture<?> both = CompletableFuture.allOf(settle(forwarded), settle(replied));
    getContext().pipeToSelf(both.thenApply(ok -> forwarded == null ? null : forwarded.getNow(null)),
        (result, failure) -> new Forwarded(frames.ackTo(), forwarded == null ? null : failureOf(forwarded)));
    return this;
  }

  private static CompletableFuture<QueueOfferResult> future(CompletionStage<QueueOfferResult> offer) {
    return offer == null ? null : offer.toCompletableFuture();
  }

  /** Done and not refused by a full set of pending offers (null: nothing was offered). */
  private static boolean done(CompletableFuture<QueueOfferResult> offer) {
    return offer == null || offer.isDone() && !offer.isCompletedExceptionally();
  }

  private static CompletableFuture<?> settle(CompletableFuture<QueueOfferResult> offer) {
    return offer == null ? CompletableFuture.completedFuture(null) : offer.handle((result, failure) -> null);
  }

  private static Throwable failureOf(CompletableFuture<QueueOfferResult> offer) {
    return offer.handle((result, failure) -> failure).join();
  }

  private void collect(ClientFrame.Message data, List<Message> toInstance) {
    if (instance == null) {
      send(Replies.error("not_connected", "Not connected: send connect first"));
      return;
    }
    toInstance.add(TextMessage.create(Replies.relayMessageToInstance(sessionId, data.payload())));
    tunnel.metrics().relayed(TunnelMetrics.Direction.TO_INSTANCE, data.payload().length());
  }

  /** A message read from bytes (connected): forwarded as bytes (a binary message, sent with the text opcode). */
  private void collect(ByteString payload, List<Message> toInstance) {
    toInstance.add(BinaryMessage.create(Replies.relayMessageToInstance(relayPrefix, payload)));
    tunnel.metrics().relayed(TunnelMetrics.Direction.TO_INSTANCE, payload.size());
  }

  /** Offers the batch's data to the instance's socket queue; null when there was none. */
  private CompletionStage<QueueOfferResult> offer(List<Message> toInstance) {
    return toInstance.isEmpty() || instanceOut == null ? null : instanceOut.offer(toInstance);
  }

  private Behavior<Command> onForwarded(Forwarded forwarded) {
    timers.cancel(STALL);
    repliesPending = null;
    if (forwarded.failure() != null) {
      getContext().getLog().debug("instance queue refused a frame session={} cause={}", sessionId, forwarded.failure().toString());
    }
    return ack(forwarded.ackTo());
  }

  private void onConnect(ClientFrame.Connect connect) {
    if (connecting || instance != null) {
      send(Replies.error("already_connected", "Already connected"));
      return;
    }
    if (!tunnel.rateLimiter().tryAcquire(clientIp)) {
      getContext().getLog().info("rate limited ip={}", clientIp);
      send(Replies.error("rate_limited", "Too many requests, slow down"));
      return;
    }
    connecting = true;
    if (connect.instanceId() != null) {
      requestSession(connect.instanceId(), connect.clientPublicKey(), null);
      return;
    }
    String code = ClaimCodes.normalize(connect.claimCode());
    if (!ClaimCodes.isWellFormed(code)) {
      onConnectFailed(new ConnectFailed(Replies.error(Replies.INVALID_CLAIM), null));
      return;
    }
    pendingClientKey = connect.clientPublicKey();
    pendingClaim = new PendingClaim(code, UUID.randomUUID().toString());
    String consumer = pendingClaim.consumer();
    getContext().ask(ClaimCode.ConsumeResult.class, tunnel.claim(code), tunnel.settings().askTimeout(),
        replyTo -> new ClaimCode.Consume(consumer, replyTo),
        (result, failure) -> new ClaimChecked(code, result, failure));
  }

  private Behavior<Command> onClaimChecked(ClaimChecked checked) {
    if (checked.failure() != null) {
      // The consume may still have happened: give the code back in case it did.
      releasePendingClaim();
      getContext().getLog().warn("claim lookup failed ip={} cause={}", clientIp, checked.failure().toString());
      return onConnectFailed(new ConnectFailed(Replies.error("unavailable", "Claim service unavailable, try again"), null));
    }
    if (checked.result() instanceof ClaimCode.Refused refused) {
      pendingClaim = null;
      getContext().getLog().info("claim refused ip={} reason={}", clientIp, refused.message());
      return onConnectFailed(new ConnectFailed(Replies.error(refused.message()), null));
    }
    ClaimCode.Granted granted = (ClaimCode.Granted) checked.result();
    requestSession(granted.instanceId(), pendingClientKey,
        new ClaimGrant(checked.code(), granted.claimId(), granted.userId(), pendingClaim.consumer()));
    return this;
  }

  private void requestSession(String instanceId, String clientPublicKey, ClaimGrant claim) {
    tunnel.location(instanceId).tell(new InstanceLocation.Connect(getContext().getSelf(), clientPublicKey, claim));
    // The location answers within its key pin lookup (ask-timeout), or the instance pairs at once; a connect
    // sent while the location's node had crashed and was not yet removed is lost, and would leave this
    // session "connecting" for good (every later connect refused already_connected).
    timers.startSingleTimer(CONNECT, new ConnectTimedOut(claim), tunnel.settings().askTimeout().multipliedBy(2));
  }

  private Behavior<Command> onConnectTimedOut(ConnectTimedOut timedOut) {
    if (!connecting) {
      return this;
    }
    return onConnectFailed(new ConnectFailed(Replies.error("unavailable",
        "The instance's location did not answer in time, try again"), timedOut.claim()));
  }

  private Behavior<Command> onPaired(Paired paired) {
    if (!connecting && instance == null && !closing) {
      // Paired after this connect was given up (ConnectTimedOut): the client was told it failed.
      paired.instanceConnection().tell(new InstanceConnection.SessionEnded(paired.sessionId(), "client_closed"));
      return this;
    }
    timers.cancel(CONNECT);
    connecting = false;
    pendingClaim = null; // spent for good
    if (closing) {
      paired.instanceConnection().tell(new InstanceConnection.SessionEnded(paired.sessionId(), "client_closed"));
      return this;
    }
    sessionId = paired.sessionId();
    instanceId = paired.instance().instanceId();
    instance = paired.instanceConnection();
    if (paired.toInstance() == null) {
      instanceOut = tunnel.localSocket(instance);
      if (instanceOut == null) {
        return onInstanceGone(ClientSession.InstanceGone.INSTANCE); // its socket closed meanwhile
      }
    } else {
      // Cross-node: frames go through a queue of this session's into the instance's stream ref, and the
      // instance gets one into this socket's queue; its node may vanish, so its connection is watched.
      remoteInstance = true;
      instanceOut = CrossNode.queueTo(paired.toInstance(), tunnel.materializer());
      instance.tell(new InstanceConnection.ClientReady(sessionId,
          CrossNode.into(out, tunnel.settings().crossNodeFramesInFlight(), tunnel.materializer())));
      getContext().watchWith(instance, InstanceGone.INSTANCE);
    }
    relayPrefix = Replies.relayMessagePrefix(sessionId);
    ClaimGrant claim = paired.claim();
    getContext().getLog().info("session opened session={} instance={} ip={} via={}", sessionId, instanceId, clientIp,
        claim == null ? "instance_id" : "claim");
    send(Replies.connected(sessionId, paired.instance(), claim == null ? null : claim.claimId(),
        claim == null ? null : claim.userId()));
    return this;
  }

  private Behavior<Command> onConnectFailed(ConnectFailed failed) {
    timers.cancel(CONNECT);
    connecting = false;
    if (failed.claim() != null) {
      releasePendingClaim(); // the code was spent on a connect that did not happen: give it back
    }
    getContext().getLog().info("connect failed ip={} reply={}", clientIp, failed.errorFrame());
    send(failed.errorFrame());
    return this;
  }

  private Behavior<Command> onInstanceGone(InstanceGone gone) {
    if (instance != null) {
      getContext().getLog().info("session closed session={} instance={} reason=instance_offline", sessionId, instanceId);
      tunnel.metrics().sessionClosed("instance_offline");
      instance = null;
      endRemoteQueue();
    }
    return closeWith("instance_offline", Replies.instanceOffline(), "instance_offline");
  }

  private Behavior<Command> onRepliesStalled(RepliesStalled stalled) {
    return repliesPending != null && !repliesPending.isDone() ? abort() : this;
  }

  /** A cross-node session's own queue towards the instance ends with the session. */
  private void endRemoteQueue() {
    if (remoteInstance && instanceOut != null) {
      instanceOut.complete();
    }
  }

  private void releasePendingClaim() {
    if (pendingClaim != null) {
      tunnel.claim(pendingClaim.code()).tell(new ClaimCode.Release(pendingClaim.consumer()));
      pendingClaim = null;
    }
  }

  /**
   * Queues the batch's replies so far, a last frame (if any) and the close marker (the socket ends there,
   * with a close frame carrying code), and stops; the bridge gets them out within close-timeout.
   */
  private Behavior<Command> closeWith(String code, String lastFrame, String reason) {
    if (!socketEnded) {
      socketEnded = true;
      List<Message> last = replies == null ? new ArrayList<>() : new ArrayList<>(replies);
      if (lastFrame != null) {
        last.add(TextMessage.create(lastFrame));
      }
      last.add(SocketClose.of(code));
      // Refused only when the socket is gone already (its queue is done): nothing left to close then.
      out.offer(last);
    }
    return end(reason);
  }

  /**
   * The client does not read: its queue is failed (what it holds is dropped) and its socket ends with a
   * slow_consumer error and close frame, which it gets if it reads again within close-timeout.
   */
  private Behavior<Command> abort() {
    getContext().getLog().info("client too slow, closing session={} instance={} ip={}", sessionId, instanceId, clientIp);
    tunnel.metrics().slowConsumerClosed(TunnelMetrics.Side.CLIENT);
    if (!socketEnded) {
      socketEnded = true;
      out.fail(new SocketClose.Failed(Replies.error("slow_consumer", "Closed: not reading its socket"),
          SocketClose.of("slow_consumer")));
    }
    return end("slow_consumer");
  }

  private Behavior<Command> end(String reason) {
    leaveInstance(reason);
    closing = true;
    return Behaviors.stopped();
  }

  private void leaveInstance(String reason) {
    if (instance != null) {
      getContext().getLog().info("session closed session={} instance={} reason={}", sessionId, instanceId, reason);
      tunnel.metrics().sessionClosed(reason);
      instance.tell(new InstanceConnection.SessionEnded(sessionId, reason));
      instance = null;
      endRemoteQueue();
    }
  }

  private void onFrameTooLarge(long bytes) {
    getContext().getLog().info("client frame refused ip={} session={} reason=frame of {} bytes over limit {}",
        clientIp, sessionId, bytes, tunnel.settings().maxFrameBytes());
    Replies.ErrorFrame reply = Replies.frameTooLarge(tunnel.settings().maxFrameBytes());
    tunnel.metrics().frameRefused(TunnelMetrics.Side.CLIENT, reply.code());
    send(reply.text());
  }

  private void resetIdleTimer() {
    timers.startSingleTimer(IDLE, IdleTimeout.INSTANCE, tunnel.settings().clientIdleTimeout());
  }

  /** Within a batch the frame joins the batch's replies; outside one it is offered at once. */
  private void send(String json) {
    if (replies != null) {
      replies.add(TextMessage.create(json));
    } else if (!socketEnded) {
      out.offer(List.of(TextMessage.create(json)));
    }
  }

  private Behavior<Command> ack(ActorRef<SocketEvent.Ack> ackTo) {
    ackTo.tell(SocketEvent.Ack.INSTANCE);
    return this;
  }
}
