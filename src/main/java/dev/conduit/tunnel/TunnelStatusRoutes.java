package dev.conduit.tunnel;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import dev.conduit.server.StatusSection;
import java.util.concurrent.CompletionStage;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/** Operators' view of the tunnel relay: one instance, and the tunnel's counts. Never exposes key pins. */
public final class TunnelStatusRoutes extends AllDirectives {
  private final ActorSystem<?> system;
  private final ActorRef<TunnelRegistry.Command> registry;
  private final Duration timeout;

  public TunnelStatusRoutes(ActorSystem<?> system, ActorRef<TunnelRegistry.Command> registry, Duration timeout) {
    this.system = system;
    this.registry = registry;
    this.timeout = timeout;
  }

  public Route routes() {
    return get(() -> path(segment("relay").slash("instances").slash(segment()), this::instance));
  }

  private Route instance(String instanceId) {
    if (!TunnelCodec.isAcceptableInstanceId(instanceId)) {
      // No such id can have registered: say why instead of a 404 that suggests it might.
      return complete(Json.error(StatusCodes.BAD_REQUEST, "invalid_field", "Invalid instance id (at most "
          + TunnelCodec.MAX_INSTANCE_ID_LENGTH + " characters, no control characters)"));
    }
    return onComplete(AskPattern.ask(registry,
        (ActorRef<TunnelRegistry.InstanceLookup> replyTo) -> new TunnelRegistry.GetInstance(instanceId, replyTo),
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
      var urls = body.putArray("direct_urls");
      status.directUrls().forEach(urls::add);
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
