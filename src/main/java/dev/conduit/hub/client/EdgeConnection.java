package dev.conduit.hub.client;

import dev.conduit.hub.grpc.RelayServiceClient;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One {@code RelayService/Stream} call: requests are fed from a bounded queue, responses handed to a callback.
 * Each connection gets its own gRPC client (channel), so a reconnect always dials afresh instead of waiting
 * out grpc-java's internal reconnect backoff (up to 120 s) after the edge was down; our backoff stays the
 * only one. Cost: the generated client registers an actor-system termination callback that is never
 * removed, so each attempt leaves a few KB behind (about 6.5 KB measured) until the system stops.
 */
final class EdgeConnection {
  private final RelayServiceClient client;
  private final BoundedSourceQueue<StreamRequest> outgoing;
  private final UniqueKillSwitch killSwitch;
  private final CompletionStage<Done> terminated;

  private EdgeConnection(RelayServiceClient client, BoundedSourceQueue<StreamRequest> outgoing,
                         UniqueKillSwitch killSwitch, CompletionStage<Done> terminated) {
    this.client = client;
    this.outgoing = outgoing;
    this.killSwitch = killSwitch;
    this.terminated = terminated;
  }

  /** Starts the call; {@code onMessage} runs on a stream thread, so it should just forward. */
  static EdgeConnection open(ActorSystem<?> system, HubClientSettings settings, Consumer<StreamResponse> onMessage) {
    GrpcClientSettings grpc = GrpcClientSettings.connectToServiceAt(settings.edgeHost(), settings.edgePort(), system)
        .withTls(settings.tls());
    RelayServiceClient client = RelayServiceClient.create(grpc, system);
    try {
      Pair<BoundedSourceQueue<StreamRequest>, Source<StreamRequest, NotUsed>> requests =
          Source.<StreamRequest>queue(settings.outgoingBuffer()).preMaterialize(system);
      Pair<UniqueKillSwitch, CompletionStage<Done>> running = client.stream(requests.second())
          .viaMat(KillSwitches.single(), Keep.right())
          .toMat(Sink.foreach(onMessage::accept), Keep.both())
          .run(system);
      return new EdgeConnection(client, requests.first(), running.first(), running.second());
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  /** False if the message could not be queued (buffer full or stream gone). */
  boolean send(StreamRequest request) {
    return outgoing.offer(request) == QueueOfferResult.enqueued();
  }

  /** Completes when the edge ends the stream (normally or with an error) or after {@link #close()}. */
  CompletionStage<Done> terminated() {
    return terminated;
  }

  /**
   * Ends the call cleanly: no more requests (the hub's side of the stream is half-closed, END_STREAM, not
   * a reset); the edge then ends its side, which completes {@link #terminated()}. Call {@link #close()} after.
   */
  void finish() {
    outgoing.complete();
  }

  /** Cancels the call and releases the channel. Idempotent. */
  void close() {
    killSwitch.shutdown();
    client.close();
  }
}
