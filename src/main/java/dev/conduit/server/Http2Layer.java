package dev.conduit.server;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.impl.engine.http2.Http2Blueprint$;
import org.apache.pekko.http.impl.engine.http2.TelemetrySpi$;
import org.apache.pekko.http.impl.engine.server.HttpAttributes$;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

/**
 * pekko-http's HTTP/2 server stack (h2c with prior knowledge) as a flow of a connection's bytes, so that
 * {@link PrefaceSwitch} can put it beside the HTTP/1.1 stack on one port. Like pekko-http's own HTTP/2
 * binding, the stack's blueprint is built once per binding and each connection only adds its request
 * handler (internal API: the binding offers no way to choose the protocol on the bytes, or to keep
 * HTTP/1.1 connections on our own stack).
 */
final class Http2Layer {
  private final BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, ?> stack;
  private final int maxConcurrentStreams;
  private final ExecutionContext executionContext;

  @SuppressWarnings({"unchecked", "rawtypes"})
  Http2Layer(ActorSystem<?> system, ServerSettings settings) {
    org.apache.pekko.actor.ActorSystem classic = Adapter.toClassic(system);
    org.apache.pekko.http.scaladsl.settings.ServerSettings scalaSettings =
        (org.apache.pekko.http.scaladsl.settings.ServerSettings) settings;
    org.apache.pekko.stream.scaladsl.BidiFlow scalaStack = Http2Blueprint$.MODULE$.serverStack(scalaSettings,
        classic.log(), Http2Blueprint$.MODULE$.serverStack$default$3(), false, TelemetrySpi$.MODULE$.create(classic),
        ((org.apache.pekko.http.scaladsl.HttpExt) org.apache.pekko.http.scaladsl.Http.get(classic))
            .dateHeaderRendering());
    this.stack = (BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, ?>) scalaStack.asJava();
    this.maxConcurrentStreams = scalaSettings.http2Settings().maxConcurrentStreams();
    this.executionContext = classic.dispatcher();
  }

  /** One connection: handler answers each request; the remote address rides on it as pekko-http's does. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  Flow<ByteString, ByteString, NotUsed> flow(InetSocketAddress remote,
                                             Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    scala.Function1<org.apache.pekko.http.scaladsl.model.HttpRequest,
        Future<org.apache.pekko.http.scaladsl.model.HttpResponse>> answer = request -> {
          try {
            return FutureConverters.asScala(handler.apply(request)
                // Connection is an HTTP/1.1 header; HTTP/2 forbids it (RFC 9113 §8.2.2).
                .thenApply(response -> (org.apache.pekko.http.scaladsl.model.HttpResponse)
                    response.removeHeader("Connection")));
          } catch (Exception e) {
            return scala.concurrent.Future$.MODULE$.failed(e);
          }
        };
    org.apache.pekko.stream.scaladsl.Flow requests =
        Http2Blueprint$.MODULE$.handleWithStreamIdHeader(maxConcurrentStreams, answer, executionContext);
    return ((Flow<HttpRequest, HttpResponse, NotUsed>) requests.asJava())
        .join(stack)
        .addAttributes(HttpAttributes$.MODULE$.remoteAddress(remote));
  }
}
