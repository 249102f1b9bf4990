package dev.conduit.tunnel;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.Json;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/** Operators' view of the tunnel relay: one instance, and overall counts. Never exposes key pins. */
public final class TunnelStatusRoutes extends AllDirectives {
  private final ActorSystem<?> system;
  private final ActorRef<TunnelRegistry.Command> registry;
  private final Duration timeout;
  private final java.util.function.Function<ObjectNode, java.util.concurrent.CompletionStage<ObjectNode>> more;

  public TunnelStatusRoutes(ActorSystem<?> system, ActorRef<TunnelRegistry.Command> registry, Duration timeout) {
    this(system, registry, timeout, java.util.concurrent.CompletableFuture::completedFuture);
  }

  /** more: adds other features' sections to the /api/status body (the tunnel's own section stays as is). */
  public TunnelStatusRoutes(ActorSystem<?> system, ActorRef<TunnelRegistry.Command> registry, Duration timeout,
                            java.util.function.Function<ObjectNode, java.util.concurrent.CompletionStage<ObjectNode>> more) {
    this.system = system;
    this.registry = registry;
    this.timeout = timeout;
    this.more = more;
  }

  public Route routes() {
    return get(() -> concat(
        path(segment("relay").slash("instances").slash(segment()), this::instance),
        path(segment("api").slash("status"), this::status)));
  }

  private Route instance(String instanceId) {
    return onSuccess(AskPattern.ask(registry,
        (ActorRef<TunnelRegistry.InstanceLookup> replyTo) -> new TunnelRegistry.GetInstance(instanceId, replyTo),
        timeout, system.scheduler()), lookup -> {
      InstanceConnection.InstanceStatus status = lookup.status();
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

  private Route status() {
    return onSuccess(AskPattern.ask(registry, TunnelRegistry.GetStats::new, timeout, system.scheduler()), stats -> {
      ObjectNode body = Json.MAPPER.createObjectNode();
      body.putObject("tunnel")
          .put("instances_online", stats.instancesOnline())
          .put("sessions_open", stats.sessionsOpen())
          .put("sessions_opened_total", stats.sessionsOpened())
          .put("bytes_relayed", stats.bytesRelayed())
          .put("frames_relayed", stats.framesRelayed());
      return onSuccess(more.apply(body), full -> complete(Json.response(StatusCodes.OK, full)));
    });
  }

  private static String iso(Instant instant) {
    return instant == null ? null : instant.toString();
  }

}
