package dev.conduit.testing;

import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.ConnectResponse;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.RelayServiceClient;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A minimal home hub for tests, over real gRPC (h2c): connects with an HMAC signature, POSTs every
 * webhook to its destination with the JDK HttpClient and acknowledges it (2xx success, 4xx permanent
 * failure, anything else retry), answers heartbeats.
 */
public final class TestHub implements AutoCloseable {
  private static final Set<String> RESTRICTED = Set.of("connection", "content-length", "expect", "host", "upgrade");

  private final ActorSystem<Void> system;
  private final RelayServiceClient client;
  private final BoundedSourceQueue<StreamRequest> out;
  private final CompletableFuture<ConnectResponse> connected = new CompletableFuture<>();
  private final CompletionStage<org.apache.pekko.Done> finished;
  private final List<StreamResponse> responses = new ArrayList<>();
  private final List<WebhookEnvelope> webhooks = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final boolean autoDeliver;

  private TestHub(int port, List<StreamRequest> first, boolean autoDeliver) {
    this(system -> GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system).withTls(false), first,
        autoDeliver);
  }

  private TestHub(java.util.function.Function<ActorSystem<Void>, GrpcClientSettings> settings,
                  List<StreamRequest> first, boolean autoDeliver) {
    this.system = ActorSystem.create(Behaviors.empty(), "test-hub");
    this.autoDeliver = autoDeliver;
    this.client = RelayServiceClient.create(settings.apply(system), system);
    Pair<BoundedSourceQueue<StreamRequest>, Source<StreamRequest, org.apache.pekko.NotUsed>> queue =
        Source.<StreamRequest>queue(4096).preMaterialize(system);
    this.out = queue.first();
    first.forEach(out::offer);
    this.finished = client.stream(queue.second()).runWith(Sink.foreach(this::onResponse), system);
    finished.whenComplete((done, failure) -> connected.completeExceptionally(
        new IllegalStateException("stream ended before connect_response", failure)));
  }

  /** Connects with a valid signature and delivers/acks automatically. */
  public static TestHub connect(int port, String hubId, String secret) {
    long now = Instant.now().getEpochSecond();
    return new TestHub(port, List.of(connectRequest(hubId, now, HubSignature.sign(hubId, now, secret))), true);
  }

  /** Connects with a valid signature for this timestamp (distinct ones avoid the replay check); delivers/acks. */
  public static TestHub connect(int port, String hubId, String secret, long timestamp) {
    return new TestHub(port, List.of(connectRequest(hubId, timestamp, HubSignature.sign(hubId, timestamp, secret))),
        true);
  }

  /** Connects with a valid signature using these client settings (e.g. TLS); delivers/acks automatically. */
  public static TestHub connect(java.util.function.Function<ActorSystem<Void>, GrpcClientSettings> settings,
                                String hubId, String secret) {
    long now = Instant.now().getEpochSecond();
    return new TestHub(settings, List.of(connectRequest(hubId, now, HubSignature.sign(hubId, now, secret))), true);
  }

  /** Sends exactly these messages first (for handshake tests); does not deliver. */
  public static TestHub raw(int port, List<StreamRequest> first) {
    return new TestHub(port, first, false);
  }

  public static StreamRequest connectRequest(String hubId, long timestamp, String signature) {
    return StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder().setHubId(hubId)
        .setTimestamp(timestamp).setSignature(signature)).build();
  }

  public ConnectResponse awaitConnectResponse(Duration timeout) throws Exception {
    return connected.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Waits for the stream to end; returns the failure (e.g. a gRPC status) or null when it completed normally. */
  public Throwable awaitEnd(Duration timeout) throws Exception {
    try {
      finished.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return null;
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    }
  }

  public boolean ended() {
    return finished.toCompletableFuture().isDone();
  }

  public synchronized List<StreamResponse> responses() {
    return List.copyOf(responses);
  }

  public synchronized List<WebhookEnvelope> webhooks() {
    return List.copyOf(webhooks);
  }

  public void send(StreamRequest request) {
    out.offer(request);
  }

  private void onResponse(StreamResponse response) {
    synchronized (this) {
      responses.add(response);
    }
    switch (response.getMessageCase()) {
      case CONNECT_RESPONSE -> connected.complete(response.getConnectResponse());
      case HEARTBEAT -> send(StreamRequest.newBuilder()
          .setHeartbeat(Heartbeat.newBuilder().setTimestamp(Instant.now().getEpochSecond())).build());
      case WEBHOOK -> {
        synchronized (this) {
          webhooks.add(response.getWebhook());
        }
        if (autoDeliver) {
          deliver(response.getWebhook());
        }
      }
      default -> { }
    }
  }

  private void deliver(WebhookEnvelope webhook) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(webhook.getDestinationUrl()))
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofByteArray(webhook.getPayload().toByteArray()));
    webhook.getHeadersMap().forEach((name, value) -> {
      if (!RESTRICTED.contains(name.toLowerCase())) {
        request.header(name, value);
      }
    });
    request.header("X-Conduit-Webhook-Id", webhook.getId());
    request.header("X-Conduit-Attempt", Integer.toString(webhook.getAttempt()));
    http.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding()).whenComplete((response, failure) -> {
      DeliveryAck.Builder ack = DeliveryAck.newBuilder().setWebhookId(webhook.getId());
      if (failure != null) {
        ack.setSuccess(false).setErrorMessage(failure.toString());
      } else {
        int status = response.statusCode();
        ack.setStatusCode(status).setSuccess(status / 100 == 2)
            .setPermanentFailure(status / 100 == 4 && status != 408 && status != 429);
        if (status / 100 != 2) {
          ack.setErrorMessage("HTTP " + status);
        }
      }
      send(StreamRequest.newBuilder().setAck(ack).build());
    });
  }

  /** Ends the hub's side of the stream and shuts the hub down. */
  @Override
  public void close() throws Exception {
    try {
      out.complete();
    } catch (IllegalStateException alreadyEnded) {
      // the stream is over already
    }
    client.close();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
