package dev.conduit.server;

import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the operator APIs with {@code Authorization: Bearer <admin token>}. No token configured means
 * the APIs are disabled (503), never open: an edge is public, and a forgotten variable must not hand
 * out control of the endpoints. Failed attempts are throttled per client address ({@link AuthThrottle}:
 * 429 {@code too_many_failures} with Retry-After in seconds) and logged at INFO once per interval per
 * address with a count. One instance guards every admin route, so the count is shared.
 */
public final class AdminAuth extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(AdminAuth.class);
  /** Above this many tracked addresses, those whose window has passed are forgotten (bounded memory). */
  private static final int SWEEP_ABOVE = 10_000;

  private final byte[] token;
  private final AuthThrottle throttle;
  private final Function<HttpRequest, String> clientIp;
  private final Clock clock;
  private final LogThrottle logThrottle;
  private final Map<String, AuthThrottle.Failures> failures = new ConcurrentHashMap<>();

  public AdminAuth(String token, AuthThrottle throttle, Function<HttpRequest, String> clientIp, Clock clock,
                   LogThrottle logThrottle) {
    this.token = token == null || token.isBlank() ? null : token.getBytes(StandardCharsets.UTF_8);
    this.throttle = throttle;
    this.clientIp = clientIp;
    this.clock = clock;
    this.logThrottle = logThrottle;
  }

  /**
   * From conduit.webhook.admin-token and conduit.webhook.admin-auth; the client address is the TCP
   * peer, or its X-Forwarded-For from conduit.tunnel.trusted-proxies.
   */
  public static AdminAuth from(Config config, Clock clock) {
    return forToken(config.getString("conduit.webhook.admin-token"), config, clock);
  }

  /** Another bearer token (e.g. the metrics scrape's) under the same throttle and logging settings. */
  public static AdminAuth forToken(String token, Config config, Clock clock) {
    ClientAddress addresses = new ClientAddress(AddressRanges.split(config.getString("conduit.tunnel.trusted-proxies")));
    return new AdminAuth(token,
        new AuthThrottle(config.getInt("conduit.webhook.admin-auth.max-failures"),
            config.getDuration("conduit.webhook.admin-auth.failure-window")),
        addresses::resolve, clock,
        new LogThrottle(config.getDuration("conduit.connections.log-interval"), System::nanoTime));
  }

  public Route authorized(Supplier<Route> inner) {
    if (token == null) {
      return complete(Json.error(StatusCodes.SERVICE_UNAVAILABLE, "admin_disabled",
          "admin API disabled: set CONDUIT_ADMIN_TOKEN"));
    }
    return extractRequest(request -> {
      String ip = clientIp.apply(request);
      Instant now = clock.instant();
      Optional<Duration> blocked = throttle.blockedFor(failures.get(ip), now);
      if (blocked.isPresent()) {
        long seconds = Math.max(1, (blocked.get().toMillis() + 999) / 1000);
        logThrottle.occurrence("throttled " + ip).ifPresent(count ->
            LOG.info("admin auth throttled ip={} retry_after_s={} count={}", ip, seconds, count));
        return respondWithHeader(HttpHeader.parse("Retry-After", Long.toString(seconds)), () ->
            complete(Json.error(StatusCodes.TOO_MANY_REQUESTS, "too_many_failures",
                "too many failed admin logins from this address, retry later")));
      }
      Optional<String> header = request.getHeader("Authorization").map(HttpHeader::value);
      String given = header.filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
          .map(h -> h.substring(7).strip()).orElse("");
      // Constant time in the token's content.
      if (!MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
        recordFailure(ip, now, header.isEmpty() ? "missing_token" : "wrong_token");
        return respondWithHeader(HttpHeader.parse("WWW-Authenticate", "Bearer"), () ->
            complete(Json.error(StatusCodes.UNAUTHORIZED, "unauthorized",
                header.isEmpty() ? "missing admin token" : "wrong admin token")));
      }
      return inner.get();
    });
  }

  private void recordFailure(String ip, Instant now, String reason) {
    if (failures.size() > SWEEP_ABOVE) {
      failures.values().removeIf(f -> throttle.expired(f, now));
    }
    failures.compute(ip, (k, f) -> throttle.afterFailure(f, now));
    logThrottle.occurrence("failed " + ip).ifPresent(count ->
        LOG.info("admin auth failed ip={} reason={} count={}", ip, reason, count));
  }
}
