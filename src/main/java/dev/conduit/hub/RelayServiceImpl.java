package dev.conduit.hub;

import dev.conduit.hub.grpc.RelayService;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * {@code hookly.v1.RelayService/Stream}: each call gets a {@link HubConnection} actor (spawned by the
 * registry); the hub's messages go to it, its responses come from a bounded queue it fills.
 */
public final class RelayServiceImpl implements RelayService {
  /** Room for max-outstanding webhooks plus the connect response and heartbeats. */
  private static final int CONTROL_HEADROOM = 64;

  private final ActorSystem<?> system;
  private final ActorRef<HubRegistry.Command> registry;
  private final HubSettings settings;
  private final Duration askTimeout;

  public RelayServiceImpl(ActorSystem<?> system, ActorRef<HubRegistry.Command> registry, HubSettings settings,
                          Duration askTimeout) {
    this.system = system;
    this.registry = registry;
    this.settings = settings;
    this.askTimeout = askTimeout;
  }

  @Override
  public Source<StreamResponse, NotUsed> stream(Source<StreamRequest, NotUsed> in) {
    return stream(in, "-");
  }

  /**
   * The hub stream, whatever its transport (gRPC, gRPC-Web, Connect): the hub's messages in, the edge's
   * messages out. peer is the hub's remote address (host:port) for log lines, "-" when not known.
   */
  public Source<StreamResponse, NotUsed> stream(Source<StreamRequest, NotUsed> in, String peer) {
    Pair<BoundedSourceQueue<StreamResponse>, Source<StreamResponse, NotUsed>> out =
        Source.<StreamResponse>queue(settings.maxOutstanding() + CONTROL_HEADROOM).preMaterialize(system);
    CompletionStage<ActorRef<HubConnection.Command>> connection = AskPattern.ask(registry,
        replyTo -> new HubRegistry.Accept(out.first(), peer, replyTo), askTimeout, system.scheduler());
    connection.whenComplete((ref, failure) -> {
      if (failure != null) {
        out.first().fail(new GrpcServiceException(Status.UNAVAILABLE.withDescription("edge not ready")));
        in.runWith(Sink.cancelled(), system);
      } else {
        in.runWith(ActorSink.<StreamRequest, HubConnection.Command, HubConnection.StreamAck>actorRefWithBackpressure(
            ref, (ackTo, request) -> new HubConnection.Incoming(request, ackTo), HubConnection.StreamStarted::new,
            HubConnection.StreamAck.INSTANCE, HubConnection.StreamCompleted.INSTANCE, HubConnection.StreamFailed::new),
            system);
      }
    });
    return out.second().watchTermination((notUsed, done) -> {
      // The hub went away (or the stream was ended from here): make sure the connection actor stops.
      done.whenComplete((d, t) -> connection.thenAccept(ref -> ref.tell(HubConnection.StreamCompleted.INSTANCE)));
      return notUsed;
    });
  }
}
