package dev.conduit.server;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * pekko-http's own answers to a request no route took (unknown path 404, wrong method 405, missing or
 * malformed parameter 400, …) and its default exception handler's (500), in the JSON error shape every
 * route uses, {@code {"error","message"}}, instead of its plain text. The status, the headers (Allow,
 * WWW-Authenticate) and the message are pekko-http's; the code is named after the status (README).
 */
public final class JsonRejections {
  private static final int FIRST_ERROR_STATUS = 400;

  private JsonRejections() {}

  /** An error response with a plain-text strict body rewritten as the JSON error shape; any other as is. */
  public static HttpResponse asJson(HttpResponse response) {
    if (response.status().intValue() < FIRST_ERROR_STATUS || !(response.entity() instanceof HttpEntity.Strict strict)
        || !strict.getContentType().mediaType().equals(ContentTypes.TEXT_PLAIN_UTF8.mediaType())) {
      return response;
    }
    int status = response.status().intValue();
    HttpResponse json = Json.error(response.status(), code(status), strict.getData().decodeString(StandardCharsets.UTF_8));
    return json.withHeaders(response.getHeaders());
  }

  /** The error code for a status pekko-http answered with. */
  static String code(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 406 -> "not_acceptable";
      case 413 -> "payload_too_large";
      case 415 -> "unsupported_media_type";
      case 416 -> "range_not_satisfiable";
      default -> status >= 500 ? "internal_error" : "bad_request";
    };
  }
}
