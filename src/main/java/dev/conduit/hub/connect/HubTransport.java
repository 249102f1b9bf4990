package dev.conduit.hub.connect;

import dev.conduit.hub.RelayServiceImpl;
import dev.conduit.hub.grpc.RelayService;
import dev.conduit.hub.GrpcMessageLimit;
import dev.conduit.hub.HubSettings;
import dev.conduit.hub.RefusalCode;
import dev.conduit.hub.grpc.RelayServiceHandlerFactory;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.server.Json;
import io.grpc.Status;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything under {@code /hookly.v1.RelayService/}, by content type: {@code application/grpc[+proto]}
 * (HTTP/2) and {@code application/grpc-web*} go to the pekko-grpc handler, {@code application/connect+proto}
 * and {@code +json} to {@link ConnectStream}; both run the same {@link RelayServiceImpl}. Anything else is
 * refused with 415 and a Connect error JSON body; every refusal is logged at INFO with the remote address.
 */
public final class HubTransport {
  private static final Logger LOG = LoggerFactory.getLogger(HubTransport.class);
  private static final String ACCEPTED = "application/grpc, application/grpc+proto, application/grpc-web, "
      + "application/grpc-web+proto, application/grpc-web-text, application/connect+proto, application/connect+json";

  private HubTransport() {}

  /** The handler for the hub service's path prefix, on whichever port it is served. */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> handler(ActorSystem<?> system,
                                                                             RelayServiceImpl relay,
                                                                             HubSettings hubSettings,
                                                                             ConnectSettings settings) {
    ConnectStream connect = new ConnectStream(system, relay, settings);
    return request -> {
      String peer = peer(request);
      MediaType mediaType = request.entity().getContentType().mediaType();
      String type = (mediaType.mainType() + "/" + mediaType.subType()).toLowerCase(Locale.ROOT);
      if (type.startsWith("application/connect+")) {
        return connect.handle(request, type.substring("application/connect+".length()), peer);
      }
      boolean grpc = type.equals("application/grpc") || type.startsWith("application/grpc+");
      if (grpc && !HubTransport.http2(request)) {
        return CompletableFuture.completedFuture(grpcRefusal(request, peer, system, Status.UNIMPLEMENTED.withDescription(
            "gRPC needs HTTP/2 (h2c with prior knowledge, or TLS with ALPN h2); got " + request.protocol().value())));
      }
      if (grpc || type.startsWith("application/grpc-web")) {
        // A handler per call, so that the connection's log lines name the hub's address.
        // Message sizes capped from each message's header before pekko-grpc buffers it (GrpcMessageLimit).
        return GrpcMessageLimit.wrap(RelayServiceHandlerFactory.create(withPeer(relay, peer), system),
            hubSettings.maxFirstMessageBytes(), hubSettings.maxMessageBytes(), system).apply(request);
      }
      return CompletableFuture.completedFuture(unsupportedMediaType(request, peer,
          "unsupported content type " + (type.equals("none/none") ? "(none)" : type), system));
    };
  }

  /** 415 with {@code Accept-Post} and a Connect error body {@code {"code":"unimplemented","message":…}}. */
  static HttpResponse unsupportedMediaType(HttpRequest request, String peer, String reason, ActorSystem<?> system) {
    LOG.info("hub request refused peer={} code=unimplemented reason={}", peer, reason);
    request.discardEntityBytes(system);
    String body = Json.MAPPER.createObjectNode().put("code", "unimplemented").put("message", reason + "; accepted: "
        + ACCEPTED).toString();
    return HttpResponse.create().withStatus(StatusCodes.UNSUPPORTED_MEDIA_TYPE)
        .addHeader(RawHeader.create("Accept-Post", ACCEPTED))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
  }

  /** A trailers-only gRPC answer: 200, content-type application/grpc, grpc-status and grpc-message. */
  private static HttpResponse grpcRefusal(HttpRequest request, String peer, ActorSystem<?> system, Status status) {
    LOG.info("hub request refused peer={} protocol=grpc code={} reason={}", peer, status.getCode(),
        status.getDescription());
    request.discardEntityBytes(system);
    return HttpResponse.create()
        .withEntity(HttpEntities.create(ContentTypes.create(
            org.apache.pekko.http.javadsl.model.MediaTypes.applicationBinary("grpc", false)), new byte[0]))
        .addHeaders(List.of(RawHeader.create("grpc-status", Integer.toString(status.getCode().value())),
            RawHeader.create("grpc-message", status.getDescription())));
  }

  /**
   * The gRPC (and gRPC-Web) stream: after a refused connect's connect_response message (which clients
   * read as before), the call ends with the refusal's status ({@link RefusalCode}) rather than OK, so
   * grpc-status and grpc-message in the trailers say why.
   */
  private static RelayService withPeer(RelayServiceImpl relay, String peer) {
    return new RelayService() {
      @Override
      public Source<StreamResponse, NotUsed> stream(Source<StreamRequest, NotUsed> in) {
        AtomicReference<Status> refusal = new AtomicReference<>();
        return relay.stream(in, peer)
            .map(response -> {
              RefusalCode.statusOf(response).ifPresent(refusal::set);
              return response;
            })
            .concatLazy(Source.lazySource(() -> refusal.get() == null ? Source.<StreamResponse>empty()
                : Source.<StreamResponse>failed(new GrpcServiceException(refusal.get()))))
            .mapMaterializedValue(m -> NotUsed.getInstance());
      }
    };
  }

  /** Whether the request came over HTTP/2 (h2c or TLS), which bidirectional streaming needs. */
  static boolean http2(HttpRequest request) {
    return "HTTP/2.0".equals(request.protocol().value());
  }

  /** host:port of the client (remote-address-attribute is on), or "-". */
  static String peer(HttpRequest request) {
    return request.getAttribute(AttributeKeys.remoteAddress)
        .flatMap(address -> address.getAddress().map(ip -> ip.getHostAddress() + ":" + address.getPort()))
        .orElse("-");
  }
}
