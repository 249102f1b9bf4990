package dev.conduit.server;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Requests pekko-http refuses before any route sees them (malformed, over a parsing limit) get the same
 * JSON error shape as the routes' errors ({@code {"error", "message"}}) instead of plain text. Too many
 * headers ({@code conduit.http.max-header-count}) is 431 {@code too_many_headers}, where pekko-http says
 * 400. Set as {@code pekko.http.server.parsing.error-handler}; pekko-http instantiates it (no-arg).
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {
  private static final String TOO_MANY_HEADERS = "HTTP message contains more than the configured limit of";

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.info("http request refused status={} reason={}", status.intValue(), info.summary());
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
