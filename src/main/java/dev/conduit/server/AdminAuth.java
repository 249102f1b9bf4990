package dev.conduit.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Guards the operator APIs with {@code Authorization: Bearer <admin token>}. No token configured means
 * the APIs are disabled (503), never open: an edge is public, and a forgotten variable must not hand
 * out control of the endpoints.
 */
public final class AdminAuth extends AllDirectives {
  private final byte[] token;

  public AdminAuth(String token) {
    this.token = token == null || token.isBlank() ? null : token.getBytes(StandardCharsets.UTF_8);
  }

  public Route authorized(Supplier<Route> inner) {
    if (token == null) {
      return complete(Json.error(StatusCodes.SERVICE_UNAVAILABLE, "admin_disabled",
          "admin API disabled: set CONDUIT_ADMIN_TOKEN"));
    }
    return optionalHeaderValueByName("Authorization", header -> {
      String given = header.filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
          .map(h -> h.substring(7).strip()).orElse("");
      // Constant time in the token's content.
      if (!MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
        return respondWithHeader(HttpHeader.parse("WWW-Authenticate", "Bearer"), () ->
            complete(Json.error(StatusCodes.UNAUTHORIZED, "unauthorized",
                header.isEmpty() ? "missing admin token" : "wrong admin token")));
      }
      return inner.get();
    });
  }

}
