package dev.conduit.tunnel;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.AdminAuth;
import dev.conduit.server.ClientAddress;
import dev.conduit.server.Json;
import dev.conduit.server.LogThrottle;
import dev.conduit.server.StatusSection;
import java.util.concurrent.CompletionStage;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One instance's status, and the tunnel's counts. Never exposes key pins. The public
 * {@code GET /relay/instances/{id}} is rate-limited per client address (429 {@code rate_limited} with
 * Retry-After) and leaves out the instance's {@code direct_urls} (its private network addresses);
 * {@code GET /api/instances/{id}} (admin token) includes them.
 */
public final class TunnelStatusRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelStatusRoutes.class);

  private final ActorSystem<?> system;
  private final ActorRef<TunnelRegistry.Command> registry;
  private final Duration timeout;
  private final AdminAuth adminAuth;
  private final RateLimiter publicLookups;
  private final long retryAfterSeconds;
  private final ClientAddress clientAddress;
  private final LogThrottle logThrottle;

  /**
   * @param publicLookups per-address token bucket for the public lookup
   * @param lookupsPerSecond its refill rate, for Retry-After (the wait for one token, in whole seconds)
   */
  public TunnelStatusRoutes(ActorSystem<?> system, ActorRef<TunnelRegistry.Command> registry, Duration timeout,
                            AdminAuth adminAuth, RateLimiter publicLookups, double lookupsPerSecond,
                            ClientAddress clientAddress, LogThrottle logThrottle) {
    this.system = system;
    this.registry = registry;
    this.timeout = timeout;
    this.adminAuth = adminAuth;
    this.publicLookups = publicLookups;
    this.retryAfterSeconds = Math.max(1, (long) Math.ceil(1 / lookupsPerSecond));
    this.clientAddress = clientAddress;
    this.logThrottle = logThrottle;
  }

  public Route routes() {
    // get() inside each path: see HealthRoutes.
    return concat(
        path(segment("relay").slash("instances").slash(segment()), id -> get(() -> extractRequest(request -> {
          String ip = clientAddress.resolve(request);
          if (!publicLookups.tryAcquire(ip)) {
            logThrottle.occurrence("status " + ip).ifPresent(count ->
                LOG.info("rate limited ip={} what=instance_status count={}", ip, count));
            return respondWithHeader(HttpHeader.parse("Retry-After", Long.toString(retryAfterSeconds)), () ->
                complete(Json.error(StatusCodes.TOO_MANY_REQUESTS, "rate_limited", "Too many lookups, retry later")));
          }
          return instance(id, false);
        }))),
        path(segment("api").slash("instances").slash(segment()), id -> get(() ->
            adminAuth.authorized(() -> instance(id, true)))));
  }

  private Route instance(String instanceId, boolean withDirectUrls) {
    if (!TunnelCodec.isAcceptableInstanceId(instanceId)) {
      // No such id can have registered: say why instead of a 404 that suggests it might.
      return complete(Json.error(StatusCodes.BAD_REQUEST, "invalid_field", "Invalid instance id (at most "
          + TunnelCodec.MAX_INSTANCE_ID_LENGTH + " characters, no control characters)"));
    }
    return onComplete(AskPattern.ask(registry,
        (ActorRef<InstanceLocation.InstanceLookup> replyTo) -> new TunnelRegistry.GetInstance(instanceId, replyTo),
        timeout, system.scheduler()), lookup -> {
      if (lookup.isFailure()) {
        return complete(Json.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", "Instance status unavailable, try again"));
      }
      InstanceConnection.InstanceStatus status = lookup.get().status();
      if (status == null) {
        return complete(Json.error(StatusCodes.NOT_FOUND, "not_found", "Instance not found"));
      }
      ObjectNode body = Json.MAPPER.createObjectNode()
          .put("instance_id", status.instanceId())
          .put("online", status.online())
          .put("registered_at", iso(status.registeredAt()))
          .put("last_seen", iso(status.lastSeen()))
          .put("sessions", status.sessions());
      if (withDirectUrls) {
        var urls = body.putArray("direct_urls");
        status.directUrls().forEach(urls::add);
      }
      return complete(Json.response(StatusCodes.OK, body));
    });
  }

  /** The "tunnel" section of GET /api/status. */
  public StatusSection statusSection() {
    return new StatusSection() {
      @Override
      public String name() {
        return "tunnel";
      }

      @Override
      public CompletionStage<JsonNode> read() {
        return AskPattern.ask(registry, TunnelRegistry.GetStats::new, timeout, system.scheduler())
            .thenApply(stats -> Json.MAPPER.createObjectNode()
                .put("instances_online", stats.instancesOnline())
                .put("sessions_open", stats.sessionsOpen())
                .put("sessions_opened_total", stats.sessionsOpened())
                .put("bytes_relayed", stats.bytesRelayed())
                .put("frames_relayed", stats.framesRelayed()));
      }
    };
  }

  private static String iso(Instant instant) {
    return instant == null ? null : instant.toString();
  }

}
