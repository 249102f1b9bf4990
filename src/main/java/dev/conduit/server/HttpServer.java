package dev.conduit.server;

import com.typesafe.config.Config;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.impl.engine.server.HttpAttributes$;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.TLSProtocol.SslTlsInbound;
import org.apache.pekko.stream.TLSProtocol.SslTlsOutbound;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.NotUsed;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import scala.jdk.javaapi.FutureConverters;
import scala.runtime.BoxedUnit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.net.ssl.SSLContext;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.function.Function;

/** Binds Conduit's ports: the public HTTP/WebSocket port (optionally with gRPC on it) and a gRPC-only port. */
public final class HttpServer {
  private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);
  /** How often a stopping server checks whether its in-flight HTTP/1.1 requests have finished. */
  private static final Duration IN_FLIGHT_POLL = Duration.ofMillis(20);

  /** No TLS on the public port: pekko-http's server layer speaks through TLS types, passed through as bytes. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static final BidiFlow<SslTlsOutbound, ByteString, ByteString, SslTlsInbound, NotUsed> PLAIN =
      (BidiFlow) TLSPlacebo.getInstance();

  private HttpServer() {}

  /** A generated gRPC handler and the path prefix it serves, e.g. "/hookly.v1.RelayService/". */
  public record GrpcService(String pathPrefix, Function<HttpRequest, CompletionStage<HttpResponse>> handler) {}

  /**
   * The public port. With gRPC services on it, a connection that opens with the HTTP/2 preface (h2c with
   * prior knowledge, as gRPC clients speak it) is served by pekko-http's HTTP/2 stack ({@link
   * PrefaceSwitch}) and requests under a service's path go to its handler; every other connection is
   * HTTP/1.1, exactly as on a port without gRPC. An HTTP/1.1 request offering the h2c upgrade is never
   * upgraded: pekko-http's upgrade path mishandles request bodies (clients that try it, like the JDK's
   * HttpClient by default, see their POSTs fail), and RFC 9113 §3.1 lets a server ignore the offer.
   */
  public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port, Route routes,
                                                    List<GrpcService> grpcServices) {
    Function<HttpRequest, CompletionStage<HttpResponse>> sealed = routes.seal().handler(system);
    // pekko-http's own answers (rejections, its default exception handler's 500) are plain text: the API's
    // JSON error shape instead, whatever produced them.
    Function<HttpRequest, CompletionStage<HttpResponse>> http =
        request -> sealed.apply(request).thenApply(JsonRejections::asJson);
    Function<HttpRequest, CompletionStage<HttpResponse>> dispatch = request -> {
      String path = request.getUri().path();
      for (GrpcService service : grpcServices) {
        if (path.startsWith(service.pathPrefix())) {
          return service.handler().apply(request);
        }
      }
      return http.apply(request);
    };
    return bindHttp1(system, host, port, dispatch, !grpcServices.isEmpty());
  }

  /**
   * An HTTP/1.1 port (with http2PriorKnowledge, also HTTP/2 for connections that open with its preface),
   * each accepted connection gated by the {@link ConnectionGate} before a byte is read: over a cap it is
   * closed at once; admitted, its ticket rides on every request (so a WebSocket upgrade can retain it)
   * and is released when the connection ends. Every request head
   * must arrive within {@code conduit.http.request-header-timeout} (see {@link RequestHeadTimeout}).
   * In-flight requests are given until {@code conduit.shutdown-deadline} to finish on shutdown.
   *
   * <p>Bound with pekko's {@code Tcp} and pekko-http's {@code serverLayer} rather than
   * {@code newServerAt(..).connectionSource()}, which has no hook below the HTTP model: each connection's
   * inbound bytes pass a {@link RawHeadCapture} on their way to pekko-http's parser, so every request
   * carries its head as sent ({@link RawRequestHead#ATTRIBUTE}); pekko-http rewrites Content-Type and
   * decodes header values before any route runs. What {@code connectionSource()} added is done here:
   * the idle timeout ({@code pekko.http.server.idle-timeout}: no bytes either way, {@link
   * ConnectionIdleTimeout}; not for an upgraded WebSocket) and graceful termination (the binding's
   * terminate waits for in-flight requests, then closes every connection).
   */
  private static CompletionStage<ServerBinding> bindHttp1(ActorSystem<?> system, String host, int port,
                                                         Function<HttpRequest, CompletionStage<HttpResponse>> dispatch,
                                                         boolean http2PriorKnowledge) {
    Config config = system.settings().config();
    ConnectionGate gate = ConnectionGate.get(system);
    Materializer materializer = Materializer.matFromSystem(system);
    Duration headTimeout = config.getDuration("conduit.http.request-header-timeout");
    LogThrottle timeouts = new LogThrottle(config.getDuration("conduit.connections.log-interval"), System::nanoTime);
    // Raw-Request-URI lets RawHeadCapture check that a captured head is its request's; it removes the header.
    ServerSettings settings = ServerSettings.create(Adapter.toClassic(system)).withRawRequestUriHeader(true);
    int parallelism = settings.getPipeliningLimit();
    int maxHeadBytes = maxHeadBytes(settings);
    scala.concurrent.duration.Duration idleTimeout = settings.getTimeouts().idleTimeout();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicBoolean stopping = new AtomicBoolean();
    Set<SharedKillSwitch> open = ConcurrentHashMap.newKeySet();
    Duration shutdownDeadline = config.getDuration("conduit.shutdown-deadline");
    awaitInFlightOnShutdown(system, inFlight, stopping, shutdownDeadline);
    // Once stopping, as pekko-http's own graceful termination does: a request that arrives on a kept-alive
    // connection gets 503 and the connection is closed; one in flight is answered with Connection: close.
    // So the in-flight count drains instead of being refilled by busy clients.
    Function<HttpRequest, CompletionStage<HttpResponse>> serve = request -> {
      inFlight.incrementAndGet();
      return (stopping.get()
          ? CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE))
          : dispatch.apply(request))
          .thenApply(response -> stopping.get() ? response.addHeader(Connection.create("close")) : response)
          .whenComplete((response, failure) -> inFlight.decrementAndGet());
    };
    // One blueprint for every connection, as pekko-http's own binding does (its header parser is primed
    // once, not per connection); each connection's remote address rides on its attributes instead.
    BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> httpLayer =
        Http.get(system).serverLayer(settings, Optional.empty()).atop(PLAIN);
    Http2Layer http2 = http2PriorKnowledge ? new Http2Layer(system, settings) : null;
    Sink<Tcp.IncomingConnection, CompletionStage<Done>> accept = Sink.foreach(connection -> {
      ConnectionGate.Admission admission = gate.admit(connection.remoteAddress().getAddress());
      if (admission.ticket().isEmpty()) {
        try {
          connection.handleWith(Flow.fromSinkAndSource(Sink.<ByteString>cancelled(), Source.<ByteString>empty()),
              materializer);
        } catch (RuntimeException e) {
          // Never let one connection fail the accept stream (that would unbind the port).
          LOG.warn("refused connection could not be closed ip={} error={}", connection.remoteAddress(), e.toString());
        }
        return;
      }
      ConnectionGate.Ticket ticket = admission.ticket().get();
      String ip = ticket.address();
      try {
        RawHeadCapture heads = new RawHeadCapture(maxHeadBytes);
        AtomicBoolean upgraded = new AtomicBoolean();
        Flow<HttpRequest, HttpResponse, NotUsed> handler = Flow.<HttpRequest>create()
            .via(new RequestHeadTimeout(headTimeout, () -> timeouts.occurrence("head " + ip).ifPresent(count ->
                LOG.info("connection closed ip={} reason=request_header_timeout after={} count={}", ip, headTimeout,
                    count)), System::nanoTime))
            .mapAsync(parallelism, request -> serve.apply(heads.claim(request).addAttribute(ConnectionGate.TICKET,
                ticket)).thenApply(response -> {
                  if (response.status().equals(StatusCodes.SWITCHING_PROTOCOLS)) {
                    upgraded.set(true); // a WebSocket from here on: see ConnectionIdleTimeout
                  }
                  return response;
                }));
        // Plain flows on the inbound bytes rather than BidiFlows with an identity flow outbound: each identity
        // was one more stage every request and response passed through.
        Supplier<Flow<ByteString, ByteString, NotUsed>> http1 = () -> heads.tap().via(handler.join(httpLayer))
            .addAttributes(HttpAttributes$.MODULE$.remoteAddress(connection.remoteAddress()));
        Flow<ByteString, ByteString, NotUsed> protocol = http2 == null ? http1.get()
            : PrefaceSwitch.flow(http1, () -> http2.flow(connection.remoteAddress(),
                request -> serve.apply(request.addAttribute(ConnectionGate.TICKET, ticket))));
        if (idleTimeout.isFinite()) {
          protocol = protocol.join(BidiFlow.fromGraph(new ConnectionIdleTimeout(
              Duration.ofNanos(idleTimeout.toNanos()), upgraded::get, System::nanoTime)));
        }
        // Nearest the wire: a TLS ClientHello on this plaintext port is logged with its address and closed.
        int localPort = connection.localAddress().getPort();
        Flow<ByteString, ByteString, NotUsed> guard = Flow.fromGraph(
            new PlaintextPortGuard(() -> gate.tlsOnPlaintextPort(ip, localPort)));
        SharedKillSwitch kill = KillSwitches.shared("http-connection");
        open.add(kill);
        connection.handleWith(Flow.fromGraph(kill.<ByteString>flow())
            .via(guard)
            .via(protocol)
            .via(kill.<ByteString>flow())
            .watchTermination((mat, done) -> {
              done.whenComplete((d, failure) -> {
                open.remove(kill);
                ticket.release();
              });
              return mat;
            }), materializer);
      } catch (RuntimeException e) {
        ticket.release();
        LOG.warn("connection could not be served ip={} error={}", ip, e.toString());
      }
    });
    return Tcp.get(system)
        .bind(host, port, settings.getBacklog(), settings.getSocketOptions(), false, Optional.empty())
        .to(accept)
        .run(materializer)
        .thenApply(tcp -> new ServerBinding(new org.apache.pekko.http.scaladsl.Http.ServerBinding(tcp.localAddress(),
            () -> FutureConverters.asScala(tcp.unbind().thenApply(done -> BoxedUnit.UNIT)),
            hardDeadline -> FutureConverters.asScala(
                drained(system, inFlight, stopping, Duration.ofNanos(hardDeadline.toNanos())).thenApply(done -> {
                  open.forEach(SharedKillSwitch::shutdown);
                  return (org.apache.pekko.http.scaladsl.Http.HttpTerminated)
                      org.apache.pekko.http.scaladsl.Http.HttpServerTerminated$.MODULE$;
                })))));
  }

  /**
   * Bytes a request head may take and still be one pekko-http accepts: request line and every header
   * line at their configured maximum lengths (what {@link RawHeadCapture} follows before giving up).
   */
  private static int maxHeadBytes(ServerSettings settings) {
    var parsing = settings.getParserSettings();
    long bytes = parsing.getMaxUriLength() + parsing.getMaxMethodLength() + 16L
        + (long) (parsing.getMaxHeaderCount() + 1) * (parsing.getMaxHeaderNameLength()
        + parsing.getMaxHeaderValueLength() + 4L);
    return (int) Math.min(Integer.MAX_VALUE - 8, bytes);
  }

  private static void awaitInFlightOnShutdown(ActorSystem<?> system, AtomicInteger inFlight, AtomicBoolean stopping,
                                              Duration deadline) {
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "http1-requests-done",
        // Within the phase's own timeout (the same deadline, application.conf), with a poll to spare.
        () -> drained(system, inFlight, stopping, deadline.minus(IN_FLIGHT_POLL.multipliedBy(2))));
  }

  /** Sets stopping, then completes once no request is in flight or after deadline, whichever is first. */
  private static CompletionStage<Done> drained(ActorSystem<?> system, AtomicInteger inFlight, AtomicBoolean stopping,
                                               Duration deadline) {
    stopping.set(true);
    CompletableFuture<Done> done = new CompletableFuture<>();
    long until = System.nanoTime() + deadline.toNanos();
    Runnable[] check = new Runnable[1];
    check[0] = () -> {
      if (inFlight.get() == 0 || System.nanoTime() > until) {
        done.complete(Done.getInstance());
      } else {
        system.scheduler().scheduleOnce(IN_FLIGHT_POLL, check[0], system.executionContext());
      }
    };
    check[0].run();
    return done;
  }

  /** A port that serves one gRPC service only (h2c, or TLS with ALPN when tls is given); anything else is 404. */
  public static CompletionStage<ServerBinding> bindGrpc(ActorSystem<?> system, String host, int port,
                                                        GrpcService service, Optional<SSLContext> tls) {
    Function<HttpRequest, CompletionStage<HttpResponse>> grpcOnly = request ->
        request.getUri().path().startsWith(service.pathPrefix())
            ? service.handler().apply(request)
            : CompletableFuture.completedFuture(Json.error(StatusCodes.NOT_FOUND, "not_found",
                "This port serves gRPC only (" + service.pathPrefix() + "); the HTTP API is on conduit.http.port"));
    scala.concurrent.duration.Duration idle = scala.concurrent.duration.Duration.fromNanos(
        system.settings().config().getDuration("conduit.hub.grpc-idle-timeout").toNanos());
    ServerBuilder builder = Http.get(system).newServerAt(host, port)
        .adaptSettings(s -> s.withEnableHttp2(true).withTimeouts(s.getTimeouts().withIdleTimeout(idle)));
    if (tls.isPresent()) {
      return builder.enableHttps(ConnectionContext.httpsServer(tls.get())).bind(grpcOnly);
    }
    return builder.bind(grpcOnly).thenApply(binding -> plaintextHttp2(system, binding));
  }

  /** Registers binding's port as plaintext HTTP/2, for GateTelemetry's TLS-handshake check. */
  private static ServerBinding plaintextHttp2(ActorSystem<?> system, ServerBinding binding) {
    ConnectionGate.get(system).plaintextHttp2Port(binding.localAddress().getPort());
    return binding;
  }

  public static String describe(ServerBinding binding) {
    InetSocketAddress address = binding.localAddress();
    return address.getHostString() + ":" + address.getPort();
  }
}
