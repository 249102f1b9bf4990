package dev.conduit.server;

import com.typesafe.config.Config;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.IncomingConnection;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.List;
import java.util.Optional;
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

  private HttpServer() {}

  /** A generated gRPC handler and the path prefix it serves, e.g. "/hookly.v1.RelayService/". */
  public record GrpcService(String pathPrefix, Function<HttpRequest, CompletionStage<HttpResponse>> handler) {}

  /**
   * The public port. With gRPC services on it, HTTP/2 is enabled (h2c with prior knowledge, as gRPC
   * clients speak it) and requests under a service's path go to its handler. Without, the port speaks
   * HTTP/1.1 only: pekko-http's HTTP/1.1 to h2c upgrade path mishandles request bodies (clients that
   * try it, like the JDK's HttpClient by default, see their POSTs fail), so it is off wherever it is
   * not needed.
   */
  public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port, Route routes,
                                                    List<GrpcService> grpcServices) {
    Function<HttpRequest, CompletionStage<HttpResponse>> http = routes.seal().handler(system);
    Function<HttpRequest, CompletionStage<HttpResponse>> dispatch = request -> {
      String path = request.getUri().path();
      for (GrpcService service : grpcServices) {
        if (path.startsWith(service.pathPrefix())) {
          return service.handler().apply(request);
        }
      }
      return http.apply(request);
    };
    if (!grpcServices.isEmpty()) {
      // HTTP/2 bindings are gated by GateTelemetry (pekko-http's accept-loop hook).
      return Http.get(system).newServerAt(host, port)
          .adaptSettings(settings -> settings.withEnableHttp2(true))
          .bind(dispatch)
          .thenApply(binding -> plaintextHttp2(system, binding));
    }
    return bindHttp1(system, host, port, dispatch);
  }

  /**
   * An HTTP/1.1-only port, each accepted connection gated by the {@link ConnectionGate} before a
   * byte is read: over a cap it is closed at once; admitted, its ticket rides on every request (so a
   * WebSocket upgrade can retain it) and is released when the connection ends. Every request head
   * must arrive within {@code conduit.http.request-header-timeout} (see {@link RequestHeadTimeout}).
   * In-flight requests are given until {@code conduit.shutdown-deadline} to finish on shutdown.
   */
  private static CompletionStage<ServerBinding> bindHttp1(ActorSystem<?> system, String host, int port,
                                                         Function<HttpRequest, CompletionStage<HttpResponse>> dispatch) {
    Config config = system.settings().config();
    ConnectionGate gate = ConnectionGate.get(system);
    Materializer materializer = Materializer.matFromSystem(system);
    Duration headTimeout = config.getDuration("conduit.http.request-header-timeout");
    LogThrottle timeouts = new LogThrottle(config.getDuration("conduit.connections.log-interval"), System::nanoTime);
    int parallelism = ServerSettings.create(Adapter.toClassic(system)).getPipeliningLimit();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicBoolean stopping = new AtomicBoolean();
    awaitInFlightOnShutdown(system, inFlight, stopping, config.getDuration("conduit.shutdown-deadline"));
    Sink<IncomingConnection, CompletionStage<Done>> serve = Sink.foreach(connection -> {
      ConnectionGate.Admission admission = gate.admit(connection.remoteAddress().getAddress());
      if (admission.ticket().isEmpty()) {
        try {
          connection.handleWith(Flow.fromSinkAndSource(Sink.<HttpRequest>cancelled(), Source.<HttpResponse>empty()),
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
        connection.handleWith(Flow.<HttpRequest>create()
            .via(new RequestHeadTimeout(headTimeout, () -> timeouts.occurrence("head " + ip).ifPresent(count ->
                LOG.info("connection closed ip={} reason=request_header_timeout after={} count={}", ip, headTimeout,
                    count))))
            .map(request -> {
              inFlight.incrementAndGet();
              return request.addAttribute(ConnectionGate.TICKET, ticket);
            })
            // Once stopping, as pekko-http's own graceful termination does: a request that arrives on a
            // kept-alive connection gets 503 and the connection is closed; one in flight is answered with
            // Connection: close. So the in-flight count drains instead of being refilled by busy clients.
            .mapAsync(parallelism, request -> (stopping.get()
                ? CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE))
                : dispatch.apply(request))
                .thenApply(response -> stopping.get() ? response.addHeader(Connection.create("close")) : response)
                .whenComplete((response, failure) -> inFlight.decrementAndGet()))
            .watchTermination((mat, done) -> {
              done.whenComplete((d, failure) -> ticket.release());
              return mat;
            }), materializer);
      } catch (RuntimeException e) {
        ticket.release();
        LOG.warn("connection could not be served ip={} error={}", ip, e.toString());
      }
    });
    return Http.get(system).newServerAt(host, port).connectionSource().to(serve).run(materializer);
  }

  private static void awaitInFlightOnShutdown(ActorSystem<?> system, AtomicInteger inFlight, AtomicBoolean stopping,
                                              Duration deadline) {
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "http1-requests-done",
        () -> {
          stopping.set(true);
          CompletableFuture<Done> done = new CompletableFuture<>();
          // Within the phase's own timeout (the same deadline, application.conf), with a poll to spare.
          long until = System.nanoTime() + deadline.minus(IN_FLIGHT_POLL.multipliedBy(2)).toNanos();
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
        });
  }

  /** A port that serves one gRPC service only (h2c, or TLS with ALPN when tls is given); anything else is 404. */
  public static CompletionStage<ServerBinding> bindGrpc(ActorSystem<?> system, String host, int port,
                                                        GrpcService service, Optional<SSLContext> tls) {
    Function<HttpRequest, CompletionStage<HttpResponse>> grpcOnly = request ->
        request.getUri().path().startsWith(service.pathPrefix())
            ? service.handler().apply(request)
            : CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
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
