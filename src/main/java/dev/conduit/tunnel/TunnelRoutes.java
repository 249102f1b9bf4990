package dev.conduit.tunnel;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two WebSocket endpoints of relay protocol 1.0. Each socket gets an actor (spawned by the
 * registry, which supervises it) and a bounded outbound queue; the per-IP connection limit is
 * enforced here, before any actor exists.
 */
public final class TunnelRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelRoutes.class);
  /** Control frames the instance's own actor may queue beyond one pending frame per session. */
  private static final int CONTROL_OFFERS = 64;
  /** The only WebSocket protocol version (RFC 6455). */
  private static final String WEBSOCKET_VERSION = "13";

  private final ActorSystem<?> system;
  private final ActorRef<TunnelRegistry.Command> registry;
  private final TunnelSettings settings;
  private final ConnectionLimiter connectionLimiter;
  private final ClientAddress clientAddress;
  private final Materializer materializer;

  public TunnelRoutes(ActorSystem<?> system, ActorRef<TunnelRegistry.Command> registry, TunnelSettings settings) {
    this.system = system;
    this.registry = registry;
    this.settings = settings;
    this.connectionLimiter = new ConnectionLimiter(settings.maxConnectionsPerIp());
    this.clientAddress = new ClientAddress(settings.trustedProxies());
    this.materializer = Materializer.matFromSystem(system);
  }

  public Route routes() {
    return concat(
        path(segment("relay").slash("tunnel").slash("websocket"), () -> supportedVersion(this::instanceSocket)),
        path(segment("relay").slash("tunnel"), () -> supportedVersion(this::instanceSocket)),
        path(segment("relay").slash("client").slash("websocket"), () -> supportedVersion(this::clientSocket)),
        path(segment("relay").slash("client"), () -> supportedVersion(this::clientSocket)));
  }

  /**
   * RFC 6455 §4.2.2: a handshake asking for a WebSocket version other than 13 is refused with the
   * versions this server speaks in Sec-WebSocket-Version, so the peer can retry with one of them
   * (pekko-http's own rejection says only "Expected WebSocket Upgrade request").
   */
  private Route supportedVersion(Supplier<Route> socket) {
    return extractRequest(request -> {
      String version = request.getHeader("Sec-WebSocket-Version").map(HttpHeader::value).orElse(null);
      if (version == null || version.trim().equals(WEBSOCKET_VERSION)) {
        return socket.get();
      }
      LOG.info("websocket upgrade refused ip={} reason=unsupported Sec-WebSocket-Version {}", clientIp(request), version);
      return respondWithHeader(RawHeader.create("Sec-WebSocket-Version", WEBSOCKET_VERSION), () ->
          complete(StatusCodes.BAD_REQUEST, "Unsupported WebSocket version " + version + ": this server speaks "
              + WEBSOCKET_VERSION));
    });
  }

  private Route instanceSocket() {
    return extractRequest(request -> {
      String ip = clientIp(request);
      return limited(ip, () -> {
        Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> outbound =
            instanceOutbound(settings, materializer);
        CompletionStage<ActorRef<InstanceConnection.Command>> actor = AskPattern.ask(registry,
            replyTo -> new TunnelRegistry.AcceptInstance(outbound.first(), ip, replyTo), settings.askTimeout(),
            system.scheduler());
        return actor.thenApply(ref -> bridge(ref.narrow(), outbound.second()));
      });
    });
  }

  /**
   * An instance socket's outbound queue. Elements are batches: a client session offers all the data of
   * one inbound batch at once; every session and the instance's own actor may each have an offer pending.
   */
  static Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> instanceOutbound(
      TunnelSettings settings, Materializer materializer) {
    return Source.<List<Message>>queue(settings.instanceOutboundBuffer(), OverflowStrategy.backpressure(),
            settings.maxSessionsPerInstance() + CONTROL_OFFERS)
        .mapConcat(batch -> batch)
        .preMaterialize(materializer);
  }

  private Route clientSocket() {
    return extractRequest(request -> {
      String ip = clientIp(request);
      return limited(ip, () -> {
        Pair<BoundedSourceQueue<Message>, Source<Message, NotUsed>> outbound =
            Source.<Message>queue(settings.clientOutboundBuffer()).preMaterialize(materializer);
        CompletionStage<ActorRef<ClientSession.Command>> actor = AskPattern.ask(registry,
            replyTo -> new TunnelRegistry.AcceptClient(outbound.first(), ip, replyTo), settings.askTimeout(),
            system.scheduler());
        return actor.thenApply(ref -> bridge(ref.narrow(), outbound.second()));
      });
    });
  }

  /**
   * Completes once every tunnel WebSocket has finished (its close frame sent), or after within:
   * lets a stopping relay say goodbye before the actor system tears the streams down.
   */
  public CompletionStage<Done> whenAllClosed(Duration within, Duration pollInterval) {
    CompletableFuture<Done> closed = new CompletableFuture<>();
    long deadline = System.nanoTime() + within.toNanos();
    Runnable[] check = new Runnable[1];
    check[0] = () -> {
      if (connectionLimiter.openTotal() == 0 || System.nanoTime() > deadline) {
        closed.complete(Done.getInstance());
      } else {
        system.scheduler().scheduleOnce(pollInterval, check[0], system.executionContext());
      }
    };
    check[0].run();
    return closed;
  }

  private Flow<Message, Message, NotUsed> bridge(ActorRef<SocketEvent> owner, Source<Message, NotUsed> outbound) {
    return WebSocketBridge.flow(owner, outbound, settings.maxFrameBytes(), settings.inboundBatchBytes(),
        settings.frameAssemblyTimeout(), materializer);
  }

  /** Upgrades to a WebSocket whose flow comes from socket, or one that says why not and closes. */
  private Route limited(String ip, Supplier<CompletionStage<Flow<Message, Message, NotUsed>>> socket) {
    if (!connectionLimiter.tryAcquire(ip)) {
      LOG.info("connection refused ip={} reason=more than {} open connections", ip, settings.maxConnectionsPerIp());
      Message refusal = TextMessage.create(Replies.error("too_many_connections", "Too many connections from this address"));
      return handleWebSocketMessages(Flow.fromSinkAndSourceCoupled(Sink.<Message>ignore(), Source.single(refusal)));
    }
    Flow<Message, Message, NotUsed> flow = Flow.completionStageFlow(socket.get())
        .watchTermination((mat, done) -> {
          done.whenComplete((d, failure) -> connectionLimiter.release(ip));
          return NotUsed.getInstance();
        });
    return handleWebSocketMessages(flow);
  }

  private String clientIp(HttpRequest request) {
    var peer = request.getAttribute(AttributeKeys.remoteAddress).flatMap(RemoteAddress::getAddress);
    var forwarded = request.getHeader("X-Forwarded-For").map(h -> h.value());
    return clientAddress.resolve(peer, forwarded);
  }
}
