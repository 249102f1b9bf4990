package dev.conduit.hub.client;

import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.WebhookEnvelope;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** POSTs a webhook's payload with its original headers to its destination, answering with the ack. */
final class WebhookPoster {
  private static final Logger log = LoggerFactory.getLogger(WebhookPoster.class);

  /** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the JDK client sets itself and refuses from callers. */
  private static final Set<String> SKIPPED_HEADERS = Set.of(
      "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "host", "content-length", "expect");

  private final HttpClient http;
  private final Duration requestTimeout;

  WebhookPoster(Duration requestTimeout) {
    this.requestTimeout = requestTimeout;
    // HTTP/1.1: for http:// the JDK would otherwise try an h2c upgrade, which some home servers mishandle.
    // Redirects are not followed: a POST must not silently turn into a GET elsewhere.
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(requestTimeout)
        .build();
  }

  /** Never fails: every outcome is an ack. */
  CompletionStage<DeliveryAck> post(WebhookEnvelope envelope) {
    String id = envelope.getId();
    HttpRequest request;
    try {
      request = request(envelope);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(DeliveryAcks.invalidDestination(id, e.getMessage()));
    }
    return http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .handle((response, failure) -> failure == null
            ? DeliveryAcks.forStatus(id, response.statusCode())
            : DeliveryAcks.forFailure(id, failure, requestTimeout));
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

  private HttpRequest request(WebhookEnvelope envelope) {
    URI uri;
    try {
      uri = URI.create(target(envelope.getDestinationUrl(), envelope.getQuery()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a valid URL with the query '" + envelope.getQuery() + "': '"
          + envelope.getDestinationUrl() + "'", e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("not an http(s) URL: '" + envelope.getDestinationUrl() + "'");
    }
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
        .timeout(requestTimeout)
        .POST(HttpRequest.BodyPublishers.ofByteArray(envelope.getPayload().toByteArray()));
    for (Map.Entry<String, String> header : envelope.getHeadersMap().entrySet()) {
      String name = header.getKey();
      if (SKIPPED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        continue;
      }
      String value = header.getValue();
      if (!value.chars().allMatch(c -> c < 0x80)) {
        // A byte string with bytes >= 0x80: the JDK client would send each as '?' (or refuse the header).
        log.warn("webhook {}: header '{}' not forwarded: its value has non-ASCII bytes, which the HTTP client "
            + "cannot send exactly", envelope.getId(), name);
        continue;
      }
      try {
        builder.header(name, value);
      } catch (IllegalArgumentException e) {
        // A name or value the JDK will not send (restricted or malformed): deliver without it, said out loud.
        log.warn("webhook {}: header '{}' not forwarded: {}", envelope.getId(), name, e.getMessage());
      }
    }
    return builder.build();
  }
}
