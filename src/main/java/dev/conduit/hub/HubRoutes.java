package dev.conduit.hub;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.AdminAuth;
import dev.conduit.server.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /api/hubs} (admin token): per configured hub, connected or not, since when, last heartbeat and
 * its age in milliseconds by the relay's clock ({@code heartbeat_age_ms}, null when none), outstanding.
 */
public final class HubRoutes extends AllDirectives {
  private final ActorSystem<?> system;
  private final AdminAuth auth;
  private final ActorRef<HubRegistry.Command> registry;
  private final Duration timeout;
  private final Clock clock;

  public HubRoutes(ActorSystem<?> system, AdminAuth auth, ActorRef<HubRegistry.Command> registry, Duration timeout,
                   Clock clock) {
    this.clock = clock;
    this.system = system;
    this.auth = auth;
    this.registry = registry;
    this.timeout = timeout;
  }

  public Route routes() {
    return path(segment("api").slash("hubs"), () -> get(() -> auth.authorized(() -> completeWithFuture(hubs()))));
  }

  private CompletionStage<HttpResponse> hubs() {
    return AskPattern.ask(registry, HubRegistry.GetHubs::new, timeout, system.scheduler()).thenCompose(entries -> {
      List<CompletableFuture<ObjectNode>> nodes = new ArrayList<>();
      for (HubRegistry.HubEntry entry : entries) {
        ObjectNode node = Json.MAPPER.createObjectNode().put("hub_id", entry.hubId())
            .put("replacements", entry.replacements());
        if (entry.connection() == null) {
          node.put("connected", false).putNull("connected_since").putNull("last_heartbeat")
              .putNull("heartbeat_age_ms").put("outstanding", 0);
          node.put("last_disconnected_at", iso(entry.lastDisconnectedAt()));
          nodes.add(CompletableFuture.completedFuture(node));
        } else {
          nodes.add(AskPattern.ask(entry.connection(), HubConnection.GetStatus::new, timeout, system.scheduler())
              .thenApply(status -> node.put("connected", true)
                  .put("connected_since", iso(status.connectedAt()))
                  .put("last_heartbeat", iso(status.lastHeartbeat()))
                  .put("heartbeat_age_ms", status.lastHeartbeat() == null ? null
                      : Math.max(0, Duration.between(status.lastHeartbeat(), clock.instant()).toMillis()))
                  .put("last_seen", iso(status.lastSeen()))
                  .put("outstanding", status.outstanding()))
              .exceptionally(failure -> node.put("connected", false).putNull("connected_since")
                  .putNull("last_heartbeat").putNull("heartbeat_age_ms").put("outstanding", 0))
              .toCompletableFuture());
        }
      }
      return CompletableFuture.allOf(nodes.toArray(CompletableFuture[]::new)).thenApply(done -> {
        ArrayNode list = Json.MAPPER.createArrayNode();
        nodes.forEach(n -> list.add(n.join()));
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.set("hubs", list);
        return Json.response(StatusCodes.OK, body);
      });
    }).exceptionally(failure -> Json.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", "Hub registry unavailable"));
  }

  private static String iso(Instant instant) {
    return instant == null ? null : instant.toString();
  }
}
