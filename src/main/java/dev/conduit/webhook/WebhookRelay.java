package dev.conduit.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.conduit.persistence.EntityLimits;
import dev.conduit.server.AdminAuth;
import dev.conduit.server.Json;
import dev.conduit.server.StatusSection;
import dev.conduit.webhook.signature.SignatureVerifier;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook relay, assembled: endpoint entities (one per endpoint, run by Cluster Sharding and
 * addressed by id through {@link EndpointEntities}), the endpoint definitions kept in step between nodes
 * ({@link EndpointChanges}), the group-commit writer of the webhooks table, and the routes it serves (ingest, admin API,
 * the "webhook" status section). The hub side is given to it as a {@link DeliveryProtocol.Hubs}; it never
 * names {@code hub/}, which implements the protocol.
 */
public final class WebhookRelay {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookRelay.class);

  private final Route routes;
  private final EndpointStore endpoints;
  private final WebhookTable statusTable;
  private final DeliveryProtocol.HubDirectory hubs;

  private WebhookRelay(Route routes, EndpointStore endpoints, WebhookTable statusTable,
                       DeliveryProtocol.HubDirectory hubs) {
    this.routes = routes;
    this.endpoints = endpoints;
    this.statusTable = statusTable;
    this.hubs = hubs;
  }

  /**
   * Spawns the webhook relay's actors under context; endpoints and the webhooks table must be ready.
   *
   * @param hubSide starts the hub side, given how to reach endpoint entities (called once, before any
   *                endpoint entity starts)
   */
  public static WebhookRelay start(ActorContext<?> context, Config config, EndpointStore endpoints,
                                   WebhookTable statusTable, Clock clock, EntityLimits entityLimits,
                                   AdminAuth adminAuth, WebhookMetrics metrics,
                                   Function<DeliveryProtocol.Endpoints, ? extends DeliveryProtocol.HubSide> hubSide) {
    ActorSystem<?> system = context.getSystem();
    WebhookSettings settings = WebhookSettings.from(config);

    // Entities offer to the hub side, which answers them by id: the entity factory reads the hub side
    // once it is set, which is before the first message can reach an entity.
    AtomicReference<DeliveryProtocol.HubSide> hubs = new AtomicReference<>();
    WebhookWriter writer = new WebhookWriter(system, statusTable, settings, metrics);
    EndpointEntities entities = new EndpointEntities(system, endpoints);
    WebhookEndpoint.init(system, settings, endpoints::get, endpoints::delete, offer -> hubs.get().offer(offer),
        id -> () -> entities.tell(id, WebhookEndpoint.Wake.INSTANCE), statusTable, writer, clock, metrics,
        entityLimits.shardingSettings(system));
    hubs.set(hubSide.apply(entities));
    // Endpoint definitions changed on another node are read again here.
    context.spawn(EndpointChanges.create(endpoints, Cluster.get(system).selfMember().address().toString(),
        settings.endpointRefreshInterval()), "webhook-endpoint-changes");

    // Endpoints with queued webhooks resume at once (dead-lettering, redelivery when their hub connects),
    // and again whenever a node leaves: its entities restart only at their next message.
    Runnable wakeAll = () -> wakeAll(entities, endpoints, statusTable);
    wakeAll.run();
    context.spawn(EndpointWakeUp.create(wakeAll), "webhook-endpoint-wake-up");

    if (settings.adminToken().isBlank()) {
      LOG.warn("CONDUIT_ADMIN_TOKEN is not set: the admin API (/api/endpoints, /api/webhooks, /api/hubs, /api/instances) answers 503");
    }
    Route routes = Directives.concat(
        new IngestRoutes(system, entities, endpoints, new SignatureVerifier(clock, settings.signatureTolerance()),
            settings, clock, metrics).routes(),
        new AdminRoutes(adminAuth, endpoints, statusTable, entities, hubs.get().configured(),
            settings, clock).routes());
    return new WebhookRelay(routes, endpoints, statusTable, hubs.get());
  }

  /** Wakes every endpoint's entity, and those of deleted endpoints that still have webhooks queued. */
  private static void wakeAll(EndpointEntities entities, EndpointStore endpoints, WebhookTable statusTable) {
    endpoints.all().forEach(endpoint -> entities.tell(endpoint.id(), WebhookEndpoint.Wake.INSTANCE));
    // Deleted endpoints that an older version left with webhooks queued: waking fails those.
    statusTable.endpointsWithUnfinished().thenAccept(ids -> ids.stream().filter(id -> endpoints.get(id).isEmpty())
        .forEach(id -> entities.tell(id, WebhookEndpoint.Wake.INSTANCE))).exceptionally(failure -> {
          LOG.warn("cannot look for webhooks of deleted endpoints: {}", failure.toString());
          return null;
        });
  }

  /** Ingest ({@code /h/...}) and the admin API ({@code /api/endpoints}, {@code /api/webhooks}). */
  public Route routes() {
    return routes;
  }

  /** The "webhook" section of GET /api/status: counts per delivery status (webhooks table), endpoints, hubs. */
  public StatusSection statusSection() {
    return new StatusSection() {
      @Override
      public String name() {
        return "webhook";
      }

      @Override
      public CompletionStage<JsonNode> read() {
        ObjectNode section = Json.MAPPER.createObjectNode().put("endpoints", endpoints.all().size());
        return statusTable.countByStatus()
            .thenCombine(hubs.connectedCount(), (byStatus, connected) -> {
              ObjectNode webhooks = section.putObject("webhooks");
              for (DeliveryStatus status : DeliveryStatus.values()) {
                webhooks.put(status.wireName(), byStatus.getOrDefault(status.wireName(), 0L));
              }
              return section.put("hubs_configured", hubs.configured().size()).put("hubs_connected", connected);
            });
      }
    };
  }
}
