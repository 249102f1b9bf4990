package dev.conduit.hub.client;

import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.webhook.HeaderBytes;
import java.io.IOException;
import java.net.ProxySelector;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.config.TlsConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.client5.http.ssl.ClientTlsStrategyBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpRequestInterceptor;
import org.apache.hc.core5.http.EntityDetails;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.config.CharCodingConfig;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.http.nio.AsyncRequestProducer;
import org.apache.hc.core5.http.nio.AsyncResponseConsumer;
import org.apache.hc.core5.http.nio.CapacityChannel;
import org.apache.hc.core5.http.nio.entity.BasicAsyncEntityProducer;
import org.apache.hc.core5.http.nio.support.AsyncRequestBuilder;
import org.apache.hc.core5.http2.HttpVersionPolicy;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs a webhook's payload with its original headers to its destination, answering with the ack.
 *
 * <p>Apache HttpClient 5 (async, HTTP/1.1), set up so that the destination gets the sender's header bytes
 * and no header of the client's own: header lines are encoded as ISO-8859-1, so a byte-string value (one
 * char per byte, see {@code dev.conduit.webhook.HeaderBytes}) goes out as exactly its bytes; and a last
 * request interceptor removes whatever the client's interceptors added (User-Agent, Connection:
 * keep-alive, Accept-Encoding, ...) but the framing headers Host, Content-Length and Transfer-Encoding.
 * No redirects (a POST must not silently turn into a GET elsewhere), no retries (the edge redelivers), no
 * cookies. Close it to stop its I/O threads.
 */
final class WebhookPoster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WebhookPoster.class);

  /**
   * Hop-by-hop headers (RFC 9110 §7.6.1), and Host, Content-Length and Expect: they describe the sender's
   * connection to the edge; the client sets Host and Content-Length for its own.
   */
  private static final Set<String> SKIPPED_HEADERS = Set.of(
      "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "host", "content-length", "expect");

  /** The only headers the client may add: they frame this request on this connection. */
  private static final Set<String> FRAMING_HEADERS = Set.of("host", "content-length", "transfer-encoding");

  /** Context attribute: the lower-cased names of the headers taken from the envelope. */
  private static final String FORWARDED_NAMES = WebhookPoster.class.getName() + ".forwarded";

  /** Runs after the client's own interceptors: drops every header they added but the framing ones. */
  private static final HttpRequestInterceptor ONLY_FORWARDED_HEADERS = (request, entity, context) -> {
    @SuppressWarnings("unchecked")
    Set<String> forwarded = (Set<String>) context.getAttribute(FORWARDED_NAMES);
    for (Header header : request.getHeaders()) {
      String name = header.getName().toLowerCase(Locale.ROOT);
      if (!FRAMING_HEADERS.contains(name) && (forwarded == null || !forwarded.contains(name))) {
        request.removeHeaders(header.getName());
      }
    }
  };

  private final CloseableHttpAsyncClient http;
  private final Duration requestTimeout;
  private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();

  WebhookPoster(Duration requestTimeout) {
    this.requestTimeout = requestTimeout;
    Timeout timeout = Timeout.of(requestTimeout);
    this.http = HttpAsyncClients.custom()
        .setConnectionManager(PoolingAsyncClientConnectionManagerBuilder.create()
            // The default trust store and javax.net.ssl.* / https.protocols settings, as the JDK client had.
            .setTlsStrategy(ClientTlsStrategyBuilder.create().useSystemProperties().buildAsync())
            // HTTP/1.1 also over TLS: no ALPN h2, which not every home server handles well.
            .setDefaultTlsConfig(TlsConfig.custom().setVersionPolicy(HttpVersionPolicy.FORCE_HTTP_1).build())
            .setDefaultConnectionConfig(ConnectionConfig.custom().setConnectTimeout(timeout).build())
            // No connection limit, as before: concurrency is one POST per endpoint with webhooks in flight.
            .setMaxConnTotal(Integer.MAX_VALUE)
            .setMaxConnPerRoute(Integer.MAX_VALUE)
            .build())
        .setCharCodingConfig(CharCodingConfig.custom().setCharset(StandardCharsets.ISO_8859_1).build())
        .setDefaultRequestConfig(RequestConfig.custom()
            .setConnectionRequestTimeout(timeout)
            .setResponseTimeout(timeout)
            .setRedirectsEnabled(false)
            .build())
        .setProxySelector(ProxySelector.getDefault()) // http.proxyHost etc., as the JDK client had
        .disableRedirectHandling()
        .disableAutomaticRetries()
        .disableCookieManagement()
        .disableAuthCaching()
        .disableContentCompression()
        .addRequestInterceptorLast(ONLY_FORWARDED_HEADERS)
        // Instead of the library's callback, which logs at ERROR every exception of its I/O threads, among
        // them the ClosedSelectorException that an immediate close causes in the reactor's own clean-up.
        .setIoReactorExceptionCallback(this::onIoReactorException)
        .build();
    this.http.start();
  }

  /** Never fails: every outcome is an ack. */
  CompletionStage<DeliveryAck> post(WebhookEnvelope envelope) {
    String id = envelope.getId();
    AsyncRequestProducer request;
    HttpClientContext context = HttpClientContext.create();
    try {
      request = request(envelope, context);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(DeliveryAcks.invalidDestination(id, e.getMessage()));
    }
    CompletableFuture<DeliveryAck> ack = new CompletableFuture<>();
    http.execute(request, new StatusOnly(), null, context,
        new FutureCallback<Integer>() {
          @Override
          public void completed(Integer status) {
            ack.complete(DeliveryAcks.forStatus(id, status));
          }

          @Override
          public void failed(Exception failure) {
            ack.complete(DeliveryAcks.forFailure(id, failure, requestTimeout));
          }

          @Override
          public void cancelled() {
            ack.complete(DeliveryAcks.forFailure(id, new IllegalStateException("request cancelled"),
                requestTimeout));
          }
        });
    return ack;
  }

  /**
   * Answers with the status as soon as the response head is in, and discards the body: the ack must not
   * wait for (or fail on) a slow response body once the destination has said 2xx.
   */
  private static final class StatusOnly implements AsyncResponseConsumer<Integer> {
    @Override
    public void consumeResponse(HttpResponse response, EntityDetails entity, HttpContext context,
                                FutureCallback<Integer> resultCallback) {
      resultCallback.completed(response.getCode());
    }

    @Override
    public void informationResponse(HttpResponse response, HttpContext context) {}

    @Override
    public void updateCapacity(CapacityChannel capacityChannel) throws IOException {
      capacityChannel.update(Integer.MAX_VALUE);
    }

    @Override
    public void consume(ByteBuffer src) {
      src.position(src.limit());
    }

    @Override
    public void streamEnd(List<? extends Header> trailers) {}

    @Override
    public void failed(Exception cause) {}

    @Override
    public void releaseResources() {}
  }

  /**
   * Stops the I/O threads at once; a POST still in flight is abandoned (its ack is not sent; the edge
   * redelivers), and so is a response body still arriving after its status was acknowledged.
   * {@link HubClient} lets POSTs in flight finish before it closes this. Idempotent.
   */
  @Override
  public void close() {
    closing.set(true);
    http.close(CloseMode.IMMEDIATE);
  }

  private void onIoReactorException(Exception e) {
    if (closing.get() && e instanceof java.nio.channels.ClosedSelectorException) {
      log.debug("I/O reactor closed while cleaning up (expected on close)");
    } else {
      log.warn("webhook poster I/O error: {}", DeliveryAcks.describe(e), e);
    }
  }

  /**
   * The envelope's destination_url with its query (the ingest URL's raw query string) appended: after "&"
   * when the destination already has a query, before any fragment.
   */
  static String target(String destinationUrl, String query) {
    if (query.isEmpty()) {
      return destinationUrl;
    }
    int hash = destinationUrl.indexOf('#');
    String base = hash < 0 ? destinationUrl : destinationUrl.substring(0, hash);
    String fragment = hash < 0 ? "" : destinationUrl.substring(hash);
    return base + (base.indexOf('?') < 0 ? "?" : base.endsWith("?") || base.endsWith("&") ? "" : "&") + query
        + fragment;
  }

  private AsyncRequestProducer request(WebhookEnvelope envelope, HttpClientContext context) {
    URI uri;
    try {
      uri = URI.create(target(envelope.getDestinationUrl(), envelope.getQuery()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a valid URL with the query '" + envelope.getQuery() + "': '"
          + envelope.getDestinationUrl() + "'", e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
      throw new IllegalArgumentException("not an http(s) URL: '" + envelope.getDestinationUrl() + "'");
    }
    if (uri.getRawUserInfo() != null) {
      // HttpClient 5 refuses user info in a request URI; sending without it would drop credentials silently.
      throw new IllegalArgumentException("user info (user:password@) in the URL is not supported: '"
          + envelope.getDestinationUrl() + "'");
    }
    // No content type on the entity: the sender's Content-Type (or none) travels as a header like any other.
    AsyncRequestBuilder builder = AsyncRequestBuilder.post(uri)
        .setEntity(new BasicAsyncEntityProducer(envelope.getPayload().toByteArray(), null));
    Set<String> forwarded = new HashSet<>();
    for (Map.Entry<String, String> header : envelope.getHeadersMap().entrySet()) {
      String name = header.getKey();
      String lower = name.toLowerCase(Locale.ROOT);
      if (SKIPPED_HEADERS.contains(lower)) {
        continue;
      }
      // One value per header line the sender sent, in order: the edge owns the envelope's header map
      // and joins repeated lines with HeaderBytes.LINE_SEPARATOR (README, Header fidelity).
      for (String value : header.getValue().split(HeaderBytes.LINE_SEPARATOR, -1)) {
        if (!value.chars().allMatch(c -> c <= 0xFF)) {
          // Not a byte string (an envelope from something other than the edge): it has no exact bytes.
          log.warn("webhook {}: header '{}' not forwarded: its value has characters above U+00FF, which are not "
              + "bytes", envelope.getId(), name);
        } else if (value.chars().anyMatch(c -> c == '\r' || c == 0 || c == 0x0B || c == 0x0C)) {
          // HttpClient sends CR (and LF, VT, FF) as a space, and NUL may not be in a header at all.
          log.warn("webhook {}: header '{}' not forwarded: its value has a CR, NUL, VT or FF byte, which cannot be sent as is",
              envelope.getId(), name);
        } else {
          builder.addHeader(name, value);
          forwarded.add(lower);
        }
      }
    }
    context.setAttribute(FORWARDED_NAMES, forwarded);
    return builder.build();
  }
}
