package dev.conduit.webhook;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import dev.conduit.server.Durations;
import dev.conduit.server.Json;
import dev.conduit.server.RawRequestHead;
import dev.conduit.webhook.signature.SignatureVerifier;
import dev.conduit.webhook.signature.VerificationResult;
import dev.conduit.webhook.signature.Verdict;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpProtocols;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Allow;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Public ingest, {@code POST /h/{endpoint_id}}: 2xx only once the webhook is in the journal; 503 when
 * it could not be stored in time (the sender retries), never a 2xx for something not stored.
 */
public final class IngestRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(IngestRoutes.class);

  /** Hop-by-hop and transport headers that must not be replayed to the destination. */
  private static final Set<String> DROPPED_HEADERS = Set.of("host", "connection", "keep-alive", "transfer-encoding",
      "te", "trailer", "upgrade", "content-length", "proxy-authorization", "proxy-connection", "timeout-access",
      "expect", "http2-settings");

  private final ActorSystem<?> system;
  private final EndpointEntities entities;
  private final EndpointStore endpoints;
  private final SignatureVerifier verifier;
  private final WebhookSettings settings;
  private final Clock clock;
  private final WebhookMetrics metrics;

  /** @param metrics counts stored webhooks by verdict and times each ingest to its 2xx */
  public IngestRoutes(ActorSystem<?> system, EndpointEntities entities,
                      EndpointStore endpoints, SignatureVerifier verifier, WebhookSettings settings, Clock clock,
                      WebhookMetrics metrics) {
    this.system = system;
    this.entities = entities;
    this.endpoints = endpoints;
    this.verifier = verifier;
    this.settings = settings;
    this.clock = clock;
    this.metrics = metrics;
  }

  /**
   * {@code /h/{id}}: an unknown id is 404 whatever the method; a known one takes POST only, any other
   * method is 405 {@code method_not_allowed} with {@code Allow: POST}. Answered here rather than left to
   * the sealed route's rejection handling, which mixed in other routes' methods and paths.
   */
  public Route routes() {
    return path(segment("h").slash(segment()), endpointId -> extractMethod(method -> {
      Optional<Endpoint> endpoint = endpoints.get(endpointId);
      if (endpoint.isEmpty()) {
        return complete(Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found"));
      }
      if (!method.equals(HttpMethods.POST)) {
        return complete(Json.error(StatusCodes.METHOD_NOT_ALLOWED, "method_not_allowed",
            "Only POST is accepted here").addHeader(Allow.create(HttpMethods.POST)));
      }
      return withSizeLimit(settings.maxBodyBytes(), () -> extractRequest(request -> ingest(endpointId, request)));
    }));
  }

  private Route ingest(String endpointId, HttpRequest request) {
    long started = System.nanoTime();
    Optional<Endpoint> endpoint = endpoints.get(endpointId);
    if (endpoint.isEmpty()) {
      return complete(Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found"));
    }
    if (!request.protocol().equals(HttpProtocols.HTTP_1_1) && !request.protocol().equals(HttpProtocols.HTTP_1_0)) {
      // Over HTTP/2 (gRPC on the HTTP port lets a sender open one) no head is captured as sent, and
      // pekko-http has re-rendered Content-Type by now: refused rather than stored altered.
      LOG.info("webhook refused endpoint={} reason=http2", endpointId);
      return complete(Json.error(StatusCodes.HTTPVERSION_NOT_SUPPORTED, "http_version_not_supported",
          "Webhooks are taken over HTTP/1.1 only, where their headers are stored exactly as sent"));
    }
    Map<String, String> headers;
    try {
      headers = headers(request);
    } catch (InexactHeader e) {
      if (e.name.isEmpty()) {
        // The head as a whole (folded, not captured, framed differently): no header to name.
        LOG.info("webhook refused endpoint={} reason=inexact request head detail={}", endpointId, e.getMessage());
      } else {
        LOG.info("webhook refused endpoint={} reason=inexact header name={} detail={}", endpointId, e.name,
            e.getMessage());
      }
      // Close the connection: the bytes after the damaged header line may not be framed as the sender meant.
      return complete(Json.error(StatusCodes.BAD_REQUEST, "invalid_header", e.getMessage())
          .addHeader(Connection.create("close")));
    }
    if (request.entity().getContentLengthOption().orElse(0L) > settings.maxBodyBytes()) {
      return complete(tooLarge());
    }
    CompletionStage<HttpResponse> response = body(request.entity())
        .handle((strict, failure) -> failure != null
            ? CompletableFuture.<HttpResponse>failedFuture(new BodyNotRead(failure))
            : store(endpoint.get(), headers, request.getUri().rawQueryString().orElse(null),
                strict.getData().toArray(), started))
        .thenCompose(stored -> stored)
        .exceptionally(failure -> {
          if (causedBy(failure, BodyNotRead.class) && causedBy(failure, java.util.concurrent.TimeoutException.class)) {
            // The sender stopped sending its body: its fault, not the database's (that would be a 503).
            LOG.info("webhook refused endpoint={} reason=body not received within {}", endpointId,
                settings.bodyTimeout());
            return Json.error(StatusCodes.REQUEST_TIMEOUT, "body_timeout",
                "The request body did not arrive within " + Durations.text(settings.bodyTimeout()))
                .addHeader(Connection.create("close"));
          }
          if (causedBy(failure, EntityStreamSizeException.class)) {
            return tooLarge();
          }
          if (causedBy(failure, EntityStreamException.class)) {
            // The sender's body was malformed on the wire (e.g. broken chunked encoding): its fault, not ours.
            LOG.info("webhook refused endpoint={} reason=malformed body: {}", endpointId, failure.toString());
            return Json.error(StatusCodes.BAD_REQUEST, "malformed_body", "The request body could not be read");
          }
          LOG.warn("webhook not stored endpoint={}: {}", endpointId, failure.toString());
          return Json.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
              "The webhook could not be stored; retry later");
        });
    return completeWithFuture(response);
  }

  /**
   * The whole body: at once when pekko-http already parsed it whole (a body that came in the head's
   * bytes, the usual webhook: {@code toStrict} would run a stream for it all the same, about a sixth of
   * the edge's CPU per webhook), else read within {@code body-timeout} and {@code max-body-bytes}.
   */
  private CompletionStage<HttpEntity.Strict> body(RequestEntity entity) {
    if (entity instanceof HttpEntity.Strict strict && strict.getData().size() <= settings.maxBodyBytes()) {
      return CompletableFuture.completedFuture(strict);
    }
    return entity.toStrict(settings.bodyTimeout().toMillis(), settings.maxBodyBytes(),
        Materializer.matFromSystem(system));
  }

  /** @param started {@link System#nanoTime} when the request's head arrived */
  private CompletionStage<HttpResponse> store(Endpoint endpoint, Map<String, String> headers, String query,
                                              byte[] body, long started) {
    // A repeated header as one comma-joined value (RFC 9110 5.3), as the senders' own libraries get it.
    VerificationResult verification = verifier.verify(endpoint.provider(), endpoint.secret(),
        HeaderBytes.combined(headers), body);
    if (verification.verdict() == Verdict.INVALID && settings.rejectUnverified()) {
      LOG.info("webhook refused endpoint={} reason={}", endpoint.id(), verification.reason());
      return CompletableFuture.completedFuture(
          Json.error(StatusCodes.UNAUTHORIZED, "invalid_signature", verification.reason()));
    }
    if (verification.verdict() == Verdict.INVALID) {
      LOG.debug("webhook for endpoint {} unverified: {}", endpoint.id(), verification.reason());
    }
    WebhookEndpoint.Incoming incoming = new WebhookEndpoint.Incoming(UUID.randomUUID().toString(), clock.instant(),
        headers, body, verification.verdict(), query);
    return entities.ask(endpoint.id(),
            (ActorRef<WebhookEndpoint.Ingested> replyTo) -> new WebhookEndpoint.Ingest(incoming, replyTo),
            settings.ingestTimeout())
        .thenApply(ingested -> {
          if (!ingested.stored()) {
            return Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found");
          }
          metrics.ingested(verification.verdict(), started);
          return Json.response(StatusCodes.OK, Json.MAPPER.createObjectNode()
            .put("id", ingested.webhookId())
            .put("status", DeliveryStatus.RECEIVED.wireName())
            .put("signature", verification.verdict().name().toLowerCase(Locale.ROOT)));
        });
  }

  /**
   * The headers to store and forward, from the request head as it was sent ({@link RawRequestHead}):
   * lower-cased names; values as byte strings ({@link HeaderBytes}), a repeated header's values joined
   * with {@link HeaderBytes#LINE_SEPARATOR} in the order sent; hop-by-hop and framing headers left out;
   * Content-Type exactly as sent, or none.
   *
   * @throws InexactHeader when the values cannot be what the sender sent, or no head was captured (a
   *     request that did not come over HTTP/1.1: pekko-http has rewritten its Content-Type by then)
   */
  static Map<String, String> headers(HttpRequest request) {
    Optional<RawRequestHead.Capture> capture = request.getAttribute(RawRequestHead.ATTRIBUTE);
    if (capture.isEmpty()) {
      throw new InexactHeader("", "request did not come over HTTP/1.1; webhooks are taken over HTTP/1.1 only, "
          + "where the headers can be stored exactly as sent");
    }
    return rawHeaders(capture.get(), request);
  }

  /**
   * From the head as sent. Refused: a head that was not captured (the connection's bytes could not be
   * followed), a folded header line, a value with a control character or bytes that are not UTF-8
   * (pekko-http's parser may have framed such a request differently from the bytes, see
   * {@link HeaderBytes}), or a head whose body framing is not the one pekko-http read.
   */
  private static Map<String, String> rawHeaders(RawRequestHead.Capture capture, HttpRequest request) {
    if (capture instanceof RawRequestHead.NotCaptured notCaptured) {
      throw new InexactHeader("", "request head could not be read as sent (" + notCaptured.reason() + ")");
    }
    RawRequestHead head = ((RawRequestHead.Captured) capture).head();
    if (head.folded()) {
      throw new InexactHeader("", "request head has a header folded over lines (obs-fold); send each on one line");
    }
    Map<String, String> headers = new TreeMap<>();
    for (RawRequestHead.Field field : head.fields()) {
      String name = field.name().toLowerCase(Locale.ROOT);
      if (!HeaderBytes.isUtf8Text(field.value())) {
        throw new InexactHeader(name, "has control characters or bytes that are not UTF-8; send the value as "
            + "UTF-8 or ASCII, e.g. percent-encoded");
      }
      if (!DROPPED_HEADERS.contains(name)) {
        headers.merge(name, field.value(), (a, b) -> a + HeaderBytes.LINE_SEPARATOR + b);
      }
    }
    boolean chunked = request.entity().isChunked();
    long length = request.entity().getContentLengthOption().orElse(chunked ? -1L : 0L);
    if (chunked != head.chunked() || (!chunked && length != Math.max(0, head.contentLength()))) {
      throw new InexactHeader("", "request head could not be read as sent (its body framing was read differently)");
    }
    return headers;
  }

  /** A header value (or head) that may not be what was sent: the request is refused rather than stored altered. */
  static final class InexactHeader extends RuntimeException {
    final String name;

    InexactHeader(String name, String problem) {
      super((name.isEmpty() ? "The " : "Header '" + name + "' ") + problem, null, false, false);
      this.name = name;
    }
  }

  private HttpResponse tooLarge() {
    return Json.error(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
        "Body larger than " + settings.maxBodyBytes() + " bytes");
  }

  /** Reading the request body failed (size, framing or time): kept apart from failures to store it. */
  private static final class BodyNotRead extends RuntimeException {
    BodyNotRead(Throwable cause) {
      super(cause);
    }
  }

  private static boolean causedBy(Throwable failure, Class<? extends Throwable> kind) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (kind.isInstance(t)) {
        return true;
      }
    }
    return false;
  }
}
