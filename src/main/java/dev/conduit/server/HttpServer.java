package dev.conduit.server;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.function.Function;

/**
 * Binds one port for HTTP/1.1, WebSocket and gRPC over h2c: requests under a gRPC service's path
 * go to its generated handler, everything else to the routes.
 */
public final class HttpServer {
  private HttpServer() {}

  /** A generated gRPC handler and the path prefix it serves, e.g. "/hookly.v1.RelayService/". */
  public record GrpcService(String pathPrefix, Function<HttpRequest, CompletionStage<HttpResponse>> handler) {}

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
    return Http.get(system).newServerAt(host, port).bind(dispatch);
  }

  public static String describe(ServerBinding binding) {
    InetSocketAddress address = binding.localAddress();
    return address.getHostString() + ":" + address.getPort();
  }
}
