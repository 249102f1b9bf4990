package dev.conduit.tunnel;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import dev.conduit.server.ClientAddress;
import dev.conduit.server.ConnectionGate;
import java.net.InetAddress;
import java.time.Duration;
import java.util.function.Supplier;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.ArrayList;
import java.util.function.Function;
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
 * registry, which supervises it) and a bounded outbound queue. Connections are counted per address
 * by the {@link ConnectionGate} (at accept time; here for clients behind a trusted proxy).
 */
public final class TunnelRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelRoutes.class);
  /** Control frames the instance's own actor may queue beyond one pending frame per session. */
  private static final int CONTROL_OFFERS = 64;
  /**
   * Offers a client's queue may have pending: the instance's batch and the session's own (each waits for
   * its previous one), the connected frame and the last frame with its close marker, with room to spare.
   */
  private static final int CLIENT_OFFERS = 8;
  /** The only WebSocket protocol version (RFC 6455). */
  private static final String WEBSOCKET_VERSION = "13";

  private final ActorSystem<?> system;
  private final ActorRef<TunnelRegistry.Command> registry;
  private final TunnelSettings settings;
  private final ConnectionGate gate;
  /** Open tunnel WebSockets, for a graceful stop. */
  private final AtomicInteger openSockets = new AtomicInteger();
  private final ClientAddress clientAddress;
  private final Materializer materializer;
  private final WebSocketFrames frames;

  public TunnelRoutes(ActorSystem<?> system, ActorRef<TunnelRegistry.Command> registry, TunnelSettings settings) {
    this.system = system;
    this.registry = registry;
    this.settings = settings;
    this.gate = ConnectionGate.get(system);
    this.clientAddress = new ClientAddress(settings.trustedProxies());
    this.materializer = Materializer.matFromSystem(system);
    this.frames = new WebSocketFrames(system, settings.maxFrameBytes(), settings.frameAssemblyTimeout(),
        settings.closeTimeout());
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
      return limited(ip, request, "instance ip=" + ip, ending -> bridge(instanceQueue(settings), out ->
          AskPattern.<TunnelRegistry.Command, ActorRef<InstanceConnection.Command>>ask(registry,
                  replyTo -> new TunnelRegistry.AcceptInstance(out, ip, replyTo), settings.askTimeout(), system.scheduler())
              .thenApply(ActorRef::<SocketEvent>narrow), ending));
    });
  }

  /**
   * An instance socket's outbound queue. Elements are batches: a client session offers all the data of
   * one inbound batch at once; every session and the instance's own actor may each have an offer pending.
   */
  static Source<Message, SourceQueueWithComplete<List<Message>>> instanceQueue(TunnelSettings settings) {
    return Source.<List<Message>>queue(settings.instanceOutboundBuffer(), OverflowStrategy.backpressure(),
            settings.maxSessionsPerInstance() + CONTROL_OFFERS)
        .mapConcat(batch -> batch);
  }

  /** {@link #instanceQueue} run on its own, for driving an actor without a socket (tests). */
  static Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> instanceOutbound(
      TunnelSettings settings, Materializer materializer) {
    return instanceQueue(settings).preMaterialize(materializer);
  }

  private Route clientSocket() {
    return extractRequest(request -> {
      String ip = clientIp(request);
      return limited(ip, request, "client ip=" + ip, ending -> bridge(clientQueue(settings), out ->
          AskPattern.<TunnelRegistry.Command, ActorRef<ClientSession.Command>>ask(registry,
                  replyTo -> new TunnelRegistry.AcceptClient(out, ip, replyTo), settings.askTimeout(), system.scheduler())
              .thenApply(ActorRef::<SocketEvent>narrow), ending));
    });
  }

  /**
   * A client socket's outbound queue, bounded in bytes: whatever the socket has not taken yet is gathered
   * up to client-outbound-bytes (a single larger frame still passes); beyond that an offer waits until the
   * client reads. Elements are batches, like the instance side's; whoever offers waits for its offer
   * before the next, and slow-consumer-grace bounds that wait (see InstanceConnection, ClientSession).
   */
  static Source<Message, SourceQueueWithComplete<List<Message>>> clientQueue(TunnelSettings settings) {
    return Source.<List<Message>>queue(1, OverflowStrategy.backpressure(), CLIENT_OFFERS)
        .batchWeighted(settings.clientOutboundBytes(), TunnelRoutes::textBytes, ArrayList::new, (batch, more) -> {
          batch.addAll(more);
          return batch;
        })
        .mapConcat(batch -> batch);
  }

  /** {@link #clientQueue} run on its own, for driving an actor without a socket (tests). */
  static Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> clientOutbound(
      TunnelSettings settings, Materializer materializer) {
    return clientQueue(settings).preMaterialize(materializer);
  }

  /**
   * The JSON text of a batch: relayed data is queued as its bytes (a binary message, sent as text); other
   * frames are ASCII but for ids and messages the relay quotes, so their characters count bytes.
   */
  private static long textBytes(List<Message> batch) {
    long bytes = 0;
    for (Message message : batch) {
      if (message instanceof SocketClose) {
        continue;
      }
      bytes += message.isText() ? message.asTextMessage().getStrictText().length()
          : message.asBinaryMessage().getStrictData().size();
    }
    return bytes;
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
      if (openSockets.get() == 0 || System.nanoTime() > deadline) {
        closed.complete(Done.getInstance());
      } else {
        system.scheduler().scheduleOnce(pollInterval, check[0], system.executionContext());
      }
    };
    check[0].run();
    return closed;
  }

  private Flow<Message, Message, NotUsed> bridge(
      Source<Message, SourceQueueWithComplete<List<Message>>> queue,
      Function<SourceQueueWithComplete<List<Message>>, CompletionStage<ActorRef<SocketEvent>>> spawn,
      WebSocketBridge.Ending ending) {
    return WebSocketBridge.flow(queue, spawn, ending, settings.maxFrameBytes(), settings.inboundBatchBytes(),
        settings.frameAssemblyTimeout(), materializer);
  }

  /**
   * Upgrades to a WebSocket whose flow comes from socket, or one that says why not and closes. Either way
   * the relay's close frame carries the reason it closed the socket for (WebSocketFrames). The connection
   * was counted at accept time by the {@link ConnectionGate}; on an HTTP/1.1 port the WebSocket stream
   * retains its ticket once it starts (the request stream ends at the upgrade), so the count lasts as
   * long as the socket. A client behind a trusted proxy is also counted by its forwarded address; over
   * the cap it gets an error frame saying why, and the socket is closed.
   */
  private Route limited(String ip, HttpRequest request, String what,
                        Function<WebSocketBridge.Ending, Flow<Message, Message, NotUsed>> socket) {
    Optional<ConnectionGate.Ticket> connection = request.getAttribute(ConnectionGate.TICKET);
    String peer = request.getAttribute(AttributeKeys.remoteAddress).flatMap(RemoteAddress::getAddress)
        .map(InetAddress::getHostAddress).orElse(ip);
    return extractWebSocketUpgrade(upgrade -> {
      WebSocketBridge.Ending ending = new WebSocketBridge.Ending(settings.closeTimeout(), what);
      // Decided when the WebSocket stream starts, i.e. once the upgrade has happened: nothing is counted
      // or spawned for a request that is not upgraded.
      Flow<Message, Message, NotUsed> flow = Flow.<Message, Message, NotUsed>fromMaterializer((mat, attributes) -> {
        connection.ifPresent(ConnectionGate.Ticket::retain);
        Optional<ConnectionGate.Ticket> forwarded = Optional.empty();
        if (!peer.equals(ip)) {
          ConnectionGate.Admission admission = gate.admitForwarded(ip);
          if (admission.ticket().isEmpty()) {
            Source<Message, NotUsed> refusal = Source.from(List.of(
                TextMessage.create(Replies.error("too_many_connections", "Too many connections from this address")),
                SocketClose.of("too_many_connections")));
            ending.ownerGone(materializer);
            return released(Flow.fromSinkAndSource(Sink.<Message>ignore(), WebSocketBridge.outbound(refusal, ending)),
                connection, Optional.empty());
          }
          forwarded = admission.ticket();
        }
        openSockets.incrementAndGet();
        return released(socket.apply(ending), connection, forwarded)
            .watchTermination((m, done) -> {
              done.whenComplete((d, failure) -> openSockets.decrementAndGet());
              return m;
            });
      }).mapMaterializedValue(whenStarted -> NotUsed.getInstance());
      return complete(frames.handle(upgrade, flow, ending));
    });
  }

  /** flow, releasing the given tickets when it ends. */
  private static <M> Flow<Message, Message, NotUsed> released(Flow<Message, Message, M> flow,
                                                            Optional<ConnectionGate.Ticket> connection,
                                                            Optional<ConnectionGate.Ticket> forwarded) {
    return flow.watchTermination((mat, done) -> {
      done.whenComplete((d, failure) -> {
        forwarded.ifPresent(ConnectionGate.Ticket::release);
        connection.ifPresent(ConnectionGate.Ticket::release);
      });
      return NotUsed.getInstance();
    });
  }

  private String clientIp(HttpRequest request) {
    return clientAddress.resolve(request);
  }
}
