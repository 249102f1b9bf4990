package dev.conduit.testing;

import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectResponse;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.RelayServiceClient;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One hub stream for fault tests, under a caller's actor system (so a test can open many): connects with
 * a valid signature, answers heartbeats, hands every webhook to a callback that decides when to
 * {@link #ack} it or {@link #cut} the stream. Unlike {@link TestHub} it can also stop reading: until
 * {@link #resumeReading()} only the connect response is taken from the stream, and gRPC requests no
 * further message, so the edge is held back by HTTP/2 flow control.
 */
public final class HubSession implements AutoCloseable {
  /** Each connect needs a fresh signature (the edge refuses replays): one timestamp per second or later. */
  private static final AtomicLong LAST_TIMESTAMP = new AtomicLong();

  private final RelayServiceClient client;
  private final BoundedSourceQueue<StreamRequest> out;
  private final UniqueKillSwitch killSwitch;
  private final CompletionStage<Done> finished;
  private final CompletableFuture<ConnectResponse> connected = new CompletableFuture<>();
  private final CompletableFuture<Void> reading = new CompletableFuture<>();
  private final BiConsumer<HubSession, WebhookEnvelope> onWebhook;

  private HubSession(ActorSystem<?> system, int port, String hubId, String secret, boolean readNow,
                     BiConsumer<HubSession, WebhookEnvelope> onWebhook) {
    this.onWebhook = onWebhook;
    if (readNow) {
      reading.complete(null);
    }
    client = RelayServiceClient.create(
        GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system).withTls(false), system);
    Pair<BoundedSourceQueue<StreamRequest>, Source<StreamRequest, NotUsed>> requests =
        Source.<StreamRequest>queue(4096).preMaterialize(system);
    out = requests.first();
    long timestamp = LAST_TIMESTAMP.updateAndGet(last -> Math.max(Instant.now().getEpochSecond(), last + 1));
    out.offer(TestHub.connectRequest(hubId, timestamp, HubSignature.sign(hubId, timestamp, secret)));
    Pair<UniqueKillSwitch, CompletionStage<Done>> running = client.stream(requests.second())
        .viaMat(KillSwitches.single(), Keep.right())
        // parallelism 1: while the gate is shut at most one message is held here, nothing else is requested
        .mapAsync(1, response -> response.hasConnectResponse()
            ? CompletableFuture.completedFuture(response) : reading.thenApply(go -> response))
        .toMat(Sink.foreach(this::onResponse), Keep.both())
        .run(system);
    killSwitch = running.first();
    finished = running.second();
    finished.whenComplete((done, failure) -> connected.completeExceptionally(
        new IllegalStateException("stream ended before connect_response", failure)));
  }

  /** Opens a stream that reads (and hands webhooks to onWebhook) from the start. */
  public static HubSession open(ActorSystem<?> system, int port, String hubId, String secret,
                                BiConsumer<HubSession, WebhookEnvelope> onWebhook) {
    return new HubSession(system, port, hubId, secret, true, onWebhook);
  }

  /** Opens a stream that authenticates and then reads nothing until {@link #resumeReading()}. */
  public static HubSession openNotReading(ActorSystem<?> system, int port, String hubId, String secret,
                                          BiConsumer<HubSession, WebhookEnvelope> onWebhook) {
    return new HubSession(system, port, hubId, secret, false, onWebhook);
  }

  public ConnectResponse awaitConnected(Duration timeout) throws Exception {
    return connected.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public void resumeReading() {
    reading.complete(null);
  }

  /** Acknowledges a webhook as delivered with status 200. */
  public void ack(String webhookId) {
    out.offer(StreamRequest.newBuilder()
        .setAck(DeliveryAck.newBuilder().setWebhookId(webhookId).setSuccess(true).setStatusCode(200)).build());
  }

  /** Cancels the stream at once (RST_STREAM to the edge); acks not yet written are lost. */
  public void cut() {
    killSwitch.abort(new IllegalStateException("stream cut by the test"));
    client.close();
  }

  public boolean ended() {
    return finished.toCompletableFuture().isDone();
  }

  private void onResponse(StreamResponse response) {
    switch (response.getMessageCase()) {
      case CONNECT_RESPONSE -> connected.complete(response.getConnectResponse());
      case HEARTBEAT -> out.offer(StreamRequest.newBuilder()
          .setHeartbeat(Heartbeat.newBuilder().setTimestamp(Instant.now().getEpochSecond())).build());
      case WEBHOOK -> onWebhook.accept(this, response.getWebhook());
      default -> { }
    }
  }

  @Override
  public void close() {
    try {
      out.complete();
    } catch (IllegalStateException alreadyEnded) {
      // the stream is over already
    }
    killSwitch.shutdown();
    client.close();
  }
}
