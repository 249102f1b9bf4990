package dev.conduit.hub.connect;

import dev.conduit.hub.RefusalCode;
import dev.conduit.hub.RelayServiceImpl;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code hookly.v1.RelayService/Stream} in the Connect protocol (bidirectional streaming, HTTP/2):
 * envelopes of {@code application/connect+proto} or {@code +json} messages both ways, then one
 * end-stream message with the outcome. The messages go through {@link RelayServiceImpl#stream} (the
 * gRPC service's own logic), so authentication, heartbeats, eviction and backpressure are the same.
 * A refused connect ({@code connect_response{success=false, error}}) is followed by an end-stream error
 * with the refusal's {@link RefusalCode} and the same text. Honours {@code Connect-Timeout-Ms} (the stream
 * ends with deadline_exceeded) and negotiates gzip or identity with {@code Connect-Content-Encoding} /
 * {@code Connect-Accept-Encoding}.
 */
public final class ConnectStream {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectStream.class);
  static final String STREAM_PATH = "/hookly.v1.RelayService/Stream";
  private static final String IDENTITY = "identity";
  private static final String GZIP = "gzip";
  private static final List<String> ENCODINGS = List.of(GZIP, IDENTITY);
  /** The protocol allows at most 10 digits. */
  private static final Pattern TIMEOUT_MS = Pattern.compile("[0-9]{1,10}");

  private final ActorSystem<?> system;
  private final RelayServiceImpl relay;
  private final ConnectSettings settings;

  public ConnectStream(ActorSystem<?> system, RelayServiceImpl relay, ConnectSettings settings) {
    this.system = system;
    this.relay = relay;
    this.settings = settings;
  }

  /** Serves one Connect request; codecSuffix is what follows "application/connect+" in its content type. */
  public CompletionStage<HttpResponse> handle(HttpRequest request, String codecSuffix, String peer) {
    ConnectCodec codec = ConnectCodec.of(codecSuffix);
    if (codec == null) {
      return CompletableFuture.completedFuture(HubTransport.unsupportedMediaType(request, peer,
          "unsupported Connect codec application/connect+" + codecSuffix, system));
    }
    ContentType contentType = ContentTypes.create(MediaTypes.applicationBinary("connect+" + codec.name, false));
    if (!request.getUri().path().equals(STREAM_PATH)) {
      return refuse(request, contentType, peer, Status.UNIMPLEMENTED.withDescription(
          "unknown procedure " + request.getUri().path() + "; served: " + STREAM_PATH));
    }
    if (!HubTransport.http2(request)) {
      return refuse(request, contentType, peer, Status.UNIMPLEMENTED.withDescription(
          "bidirectional streaming needs HTTP/2 (h2c with prior knowledge, or TLS with ALPN h2); got "
              + request.protocol().value()));
    }
    String requestEncoding = header(request, "connect-content-encoding").orElse(IDENTITY).toLowerCase(Locale.ROOT);
    if (!ENCODINGS.contains(requestEncoding)) {
      return refuse(request, contentType, peer, Status.UNIMPLEMENTED.withDescription(
          "unsupported Connect-Content-Encoding " + requestEncoding + "; supported: gzip, identity"));
    }
    Optional<String> timeoutHeader = header(request, "connect-timeout-ms");
    if (timeoutHeader.isPresent() && !TIMEOUT_MS.matcher(timeoutHeader.get()).matches()) {
      return refuse(request, contentType, peer, Status.INVALID_ARGUMENT.withDescription(
          "Connect-Timeout-Ms must be 1 to 10 digits: " + timeoutHeader.get()));
    }
    String responseEncoding = header(request, "connect-accept-encoding")
        .map(ConnectStream::firstSupported).orElse(requestEncoding);

    CompletableFuture<Object> responseDone = new CompletableFuture<>();
    Source<StreamRequest, NotUsed> in = request.entity().getDataBytes()
        .via(new DrainOnCancel<>(responseDone))
        .statefulMap(() -> Envelope.Buffer.EMPTY,
            (buffer, bytes) -> {
              Envelope.Result result = buffer.push(bytes, settings.maxFirstMessageBytes(), settings.maxMessageBytes());
              return Pair.create(result.buffer(), result.frames());
            },
            buffer -> buffer.pending().isEmpty() ? Optional.empty()
                : Optional.of(List.of(new Envelope.Frame(-1, buffer.pending()))))
        .mapConcat(frames -> frames)
        .map(frame -> decode(frame, codec, requestEncoding))
        .mapMaterializedValue(m -> NotUsed.getInstance());

    Source<StreamResponse, NotUsed> responses = relay.stream(in, peer);
    String timeoutNote = "";
    if (timeoutHeader.isPresent()) {
      Duration timeout = Duration.ofMillis(Long.parseLong(timeoutHeader.get()));
      responses = responses.completionTimeout(timeout);
      timeoutNote = " timeout_ms=" + timeout.toMillis();
    }
    LOG.info("hub stream opened peer={} protocol=connect codec={} encoding={}/{}{}", peer, codec.name,
        requestEncoding, responseEncoding, timeoutNote);
    boolean gzip = GZIP.equals(responseEncoding);
    // A refused connect ends the stream normally after connect_response{success=false}; its end-stream message
    // carries the refusal's code. (statefulMap is not used: its completion hook also runs on failure.)
    AtomicReference<Status> refusal = new AtomicReference<>();
    Source<ByteString, NotUsed> body = responses
        .map(response -> {
          RefusalCode.statusOf(response).ifPresent(refusal::set);
          return frame(codec, response, gzip);
        })
        .concatLazy(Source.lazySingle(() -> Envelope.endStream(refusal.get() == null ? Status.OK : refusal.get())))
        .recover(new PFBuilder<Throwable, ByteString>()
            .matchAny(failure -> Envelope.endStream(statusOf(failure, peer)))
            .build())
        .watchTermination((notUsed, done) -> {
          done.whenComplete((d, failure) -> responseDone.complete(d));
          return notUsed;
        });
    return CompletableFuture.completedFuture(HttpResponse.create()
        .withEntity(HttpEntities.createChunked(contentType, body))
        .addHeaders(List.of(
            RawHeader.create("Connect-Content-Encoding", responseEncoding),
            RawHeader.create("Connect-Accept-Encoding", String.join(", ", ENCODINGS)))));
  }

  private StreamRequest decode(Envelope.Frame frame, ConnectCodec codec, String requestEncoding) throws Exception {
    if (frame.flags() < 0) {
      throw new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(
          "request ended inside an envelope (" + frame.message().size() + " bytes left over)"));
    }
    if ((frame.flags() & Envelope.END_STREAM) != 0) {
      throw new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription("end-stream flag on a request message"));
    }
    byte[] message;
    if ((frame.flags() & Envelope.COMPRESSED) != 0) {
      if (IDENTITY.equals(requestEncoding)) {
        throw new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(
            "compressed message without Connect-Content-Encoding"));
      }
      message = Envelope.gunzip(frame.message(), settings.maxMessageBytes());
    } else {
      message = frame.message().toArray();
    }
    return codec.decode(message);
  }

  private ByteString frame(ConnectCodec codec, StreamResponse response, boolean gzip) throws Exception {
    byte[] message = codec.encode(response);
    if (gzip && message.length >= settings.compressMinBytes()) {
      return Envelope.frame(Envelope.COMPRESSED, Envelope.gzip(message));
    }
    return Envelope.frame(0, message);
  }

  private static Status statusOf(Throwable failure, String peer) {
    if (failure instanceof GrpcServiceException grpc) {
      return grpc.getStatus();
    }
    if (failure instanceof TimeoutException) {
      LOG.info("hub stream ended peer={} protocol=connect reason=Connect-Timeout-Ms elapsed", peer);
      return Status.DEADLINE_EXCEEDED.withDescription("Connect-Timeout-Ms elapsed");
    }
    LOG.info("hub stream failed peer={} protocol=connect cause={}", peer, failure.toString());
    return Status.INTERNAL.withDescription("stream failed");
  }

  /** Answers 200 with only an end-stream error (how Connect streams report errors), and logs why. */
  private CompletionStage<HttpResponse> refuse(HttpRequest request, ContentType contentType, String peer,
                                               Status status) {
    LOG.info("hub request refused peer={} protocol=connect code={} reason={}", peer, Envelope.code(status.getCode()),
        status.getDescription());
    request.discardEntityBytes(system);
    return CompletableFuture.completedFuture(HttpResponse.create()
        .withEntity(HttpEntities.create(contentType, Envelope.endStream(status))));
  }

  private static String firstSupported(String acceptEncoding) {
    for (String encoding : acceptEncoding.split(",")) {
      String name = encoding.trim().toLowerCase(Locale.ROOT);
      if (ENCODINGS.contains(name)) {
        return name;
      }
    }
    return IDENTITY;
  }

  private static Optional<String> header(HttpRequest request, String name) {
    return request.getHeader(name).map(HttpHeader::value).map(String::trim);
  }
}
