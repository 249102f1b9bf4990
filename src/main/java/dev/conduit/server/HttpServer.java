package dev.conduit.server;

import java.net.InetSocketAddress;
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
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.function.Function;

/** Binds Conduit's ports: the public HTTP/WebSocket port (optionally with gRPC on it) and a gRPC-only port. */
public final class HttpServer {
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
    boolean http2 = !grpcServices.isEmpty();
    return Http.get(system).newServerAt(host, port)
        .adaptSettings(settings -> settings.withEnableHttp2(http2))
        .bind(dispatch);
  }

  /** A port that serves one gRPC service only (h2c, or TLS with ALPN when tls is given); anything else is 404. */
  public static CompletionStage<ServerBinding> bindGrpc(ActorSystem<?> system, String host, int port,
                                                        GrpcService service, Optional<SSLContext> tls) {
    Function<HttpRequest, CompletionStage<HttpResponse>> grpcOnly = request ->
        request.getUri().path().startsWith(service.pathPrefix())
            ? service.handler().apply(request)
            : CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
    ServerBuilder builder = Http.get(system).newServerAt(host, port).adaptSettings(s -> s.withEnableHttp2(true));
    if (tls.isPresent()) {
      builder = builder.enableHttps(ConnectionContext.httpsServer(tls.get()));
    }
    return builder.bind(grpcOnly);
  }

  public static String describe(ServerBinding binding) {
    InetSocketAddress address = binding.localAddress();
    return address.getHostString() + ":" + address.getPort();
  }
}
