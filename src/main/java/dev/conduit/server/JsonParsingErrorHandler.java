package dev.conduit.server;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests pekko-http refuses before any route sees them (malformed, over a parsing limit) get the same
 * JSON error shape as the routes' errors ({@code {"error", "message"}}) instead of plain text. Too many
 * headers ({@code conduit.http.max-header-count}) is 431 {@code too_many_headers}, where pekko-http says
 * 400. Set as {@code pekko.http.server.parsing.error-handler}; pekko-http instantiates it (no-arg).
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {
  /** pekko-http's detail for a request whose first byte is 0x16, a TLS record (HttpRequestParser). */
  private static final String TLS_METHOD = "The HTTP method started with 0x16";
  private static final String TOO_MANY_HEADERS = "HTTP message contains more than the configured limit of";
  /**
   * Our own logger, not pekko's adapter: pekko's INFO is filtered out (logback.xml). A peer can send bad
   * requests in a loop, so the lines are marked REPEATABLE: the relay's {@link RepeatedLogFilter} logs
   * one per conduit.connections.log-interval per status, with a count. (pekko-http instantiates this class
   * itself, per connection and without arguments, so it cannot be handed a throttle or settings.)
   */
  private static final Logger LOG = LoggerFactory.getLogger(JsonParsingErrorHandler.class);

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    if (info.detail().contains(TLS_METHOD)) {
      // pekko-http recognised a TLS ClientHello on the HTTP/1.1 port; it gives no remote address here.
      LOG.info(RepeatedLogFilter.REPEATABLE,
          "http request refused status={} reason=\"TLS handshake on a plaintext port\"", status.intValue());
      return Json.error(status, "tls_on_plaintext_port", "TLS handshake on a plaintext port: use http://, not https://");
    }
    LOG.info(RepeatedLogFilter.REPEATABLE, "http request refused status={} reason={}", status.intValue(),
        info.summary());
    if (info.summary().startsWith(TOO_MANY_HEADERS)) {
      return Json.error(StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE, "too_many_headers",
          "More than " + settings.parserSettings().maxHeaderCount() + " request headers");
    }
    String code = status.intValue() == StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE.intValue()
        ? "header_too_large" : status.intValue() == StatusCodes.URI_TOO_LONG.intValue() ? "uri_too_long"
        : "bad_request";
    return Json.error(status, code, info.summary());
  }
}
