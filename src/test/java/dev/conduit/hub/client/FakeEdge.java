package dev.conduit.hub.client;

import dev.conduit.hub.auth.AuthResult;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.grpc.ConnectResponse;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.RelayService;
import dev.conduit.hub.grpc.RelayServiceHandlerFactory;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A minimal edge for tests: authenticates connects with the real {@link HubAuthenticator}, lets the test
 * push envelopes to the latest accepted stream, records acks and heartbeats, echoes heartbeats unless silent.
 */
final class FakeEdge implements RelayService, AutoCloseable {
  private static final Duration TOLERANCE = Duration.ofSeconds(300);
  private static final int REPLAY_CACHE = 1_000;
  private static final int OUT_BUFFER = 1_024;

  private final ActorSystem<?> system;
  private final HubAuthenticator authenticator;
  private final boolean echoHeartbeats;
  private final ServerBinding binding;
  private volatile BoundedSourceQueue<StreamResponse> current;

  final AtomicInteger connectAttempts = new AtomicInteger();
  final AtomicInteger accepted = new AtomicInteger();
  final List<String> rejections = new CopyOnWriteArrayList<>();
  final List<DeliveryAck> acks = new CopyOnWriteArrayList<>();
  final AtomicInteger heartbeats = new AtomicInteger();
  /** How each hub's request stream ended: "completed" (END_STREAM) or the failure (a reset, a cancel). */
  final List<String> requestStreamEnds = new CopyOnWriteArrayList<>();

  FakeEdge(ActorSystem<?> system, String hubId, String secret, boolean echoHeartbeats) throws Exception {
    this.system = system;
    this.authenticator = new HubAuthenticator(Map.of(hubId, secret), Clock.systemUTC(), TOLERANCE, REPLAY_CACHE);
    this.echoHeartbeats = echoHeartbeats;
    this.binding = Http.get(system).newServerAt("127.0.0.1", 0)
        .bind(RelayServiceHandlerFactory.create(this, system))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  String url() {
    return "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @Override
  public Source<StreamResponse, NotUsed> stream(Source<StreamRequest, NotUsed> in) {
    Pair<BoundedSourceQueue<StreamResponse>, Source<StreamResponse, NotUsed>> out =
        Source.<StreamResponse>queue(OUT_BUFFER).preMaterialize(system);
    BoundedSourceQueue<StreamResponse> queue = out.first();
    boolean[] authenticated = {false}; // only touched by this stream's foreach, one element at a time
    in.runForeach(request -> {
      switch (request.getMessageCase()) {
        case CONNECT -> {
          connectAttempts.incrementAndGet();
          var connect = request.getConnect();
          AuthResult result = authenticator.authenticate(connect.getHubId(), connect.getTimestamp(),
              connect.getSignature());
          if (result instanceof AuthResult.Rejected rejected) {
            rejections.add(rejected.reason());
            queue.offer(connectResponse(false, rejected.reason()));
            queue.complete();
          } else {
            authenticated[0] = true;
            current = queue;
            queue.offer(connectResponse(true, ""));
            accepted.incrementAndGet();
          }
        }
        case ACK -> {
          if (authenticated[0]) {
            acks.add(request.getAck());
          }
        }
        case HEARTBEAT -> {
          if (authenticated[0]) {
            heartbeats.incrementAndGet();
            if (echoHeartbeats) {
              queue.offer(StreamResponse.newBuilder()
                  .setHeartbeat(Heartbeat.newBuilder().setTimestamp(request.getHeartbeat().getTimestamp())).build());
            }
          }
        }
        case MESSAGE_NOT_SET -> { }
      }
    }, system).whenComplete((done, failure) -> {
      requestStreamEnds.add(failure == null ? "completed" : failure.toString());
      try {
        queue.complete(); // as the relay does: the hub finished, so does the edge
      } catch (IllegalStateException alreadyEnded) {
        // the edge's side had ended first
      }
    });
    return out.second();
  }

  void push(WebhookEnvelope envelope) {
    QueueOfferResult result = current.offer(StreamResponse.newBuilder().setWebhook(envelope).build());
    if (result != QueueOfferResult.enqueued()) {
      throw new IllegalStateException("could not push " + envelope.getId() + ": " + result);
    }
  }

  /** Ends the latest accepted stream from the edge's side. */
  void closeCurrentStream() {
    current.complete();
  }

  List<DeliveryAck> acksFor(String webhookId) {
    return acks.stream().filter(a -> a.getWebhookId().equals(webhookId)).toList();
  }

  private static StreamResponse connectResponse(boolean success, String error) {
    return StreamResponse.newBuilder()
        .setConnectResponse(ConnectResponse.newBuilder().setSuccess(success).setError(error)).build();
  }

  @Override
  public void close() throws Exception {
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
