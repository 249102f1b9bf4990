package dev.conduit.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.conduit.hub.HubMetrics;
import dev.conduit.hub.HubRegistry;
import org.apache.pekko.actor.CoordinatedShutdown;
import dev.conduit.hub.HubRoutes;
import dev.conduit.hub.HubSettings;
import dev.conduit.hub.RelayServiceImpl;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.connect.ConnectSettings;
import dev.conduit.hub.connect.HubTransport;
import dev.conduit.hub.grpc.RelayService;
import dev.conduit.persistence.Database;
import dev.conduit.persistence.EntityKeeper;
import dev.conduit.persistence.EntityLimits;
import dev.conduit.server.AdminAuth;
import dev.conduit.server.HttpServer;
import dev.conduit.server.Json;
import dev.conduit.server.StatusSection;
import dev.conduit.webhook.signature.SignatureVerifier;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook relay, assembled: endpoint entities (one per endpoint, behind a keeper), the hub
 * registry, the read-side projection, and what the server exposes of them (routes, the gRPC
 * service, the status section).
 */
public final class WebhookRelay {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookRelay.class);

  private final ActorSystem<?> system;
  private final Route routes;
  private final HttpServer.GrpcService grpc;
  private final ActorRef<HubRegistry.Command> hubs;
  private final EndpointStore endpoints;
  private final WebhookStatusTable statusTable;
  private final Duration askTimeout;
  private final AdminAuth adminAuth;

  private WebhookRelay(ActorSystem<?> system, Route routes, HttpServer.GrpcService grpc,
                       ActorRef<HubRegistry.Command> hubs, EndpointStore endpoints, WebhookStatusTable statusTable,
                       Duration askTimeout, AdminAuth adminAuth) {
    this.system = system;
    this.routes = routes;
    this.grpc = grpc;
    this.hubs = hubs;
    this.endpoints = endpoints;
    this.statusTable = statusTable;
    this.askTimeout = askTimeout;
    this.adminAuth = adminAuth;
  }

  /** Spawns the webhook relay's actors under context; endpoints and the status table must be ready. */
  public static WebhookRelay start(ActorContext<?> context, Config config, Database database, EndpointStore endpoints,
                                   WebhookStatusTable statusTable, Clock clock, EntityLimits entityLimits,
                                   WebhookMetrics metrics, HubMetrics hubMetrics) {
    ActorSystem<?> system = context.getSystem();
    WebhookSettings settings = WebhookSettings.from(config);
    HubSettings hubSettings = HubSettings.from(config);

    // Hub connections and endpoint entities talk to each other; the keeper is spawned second.
    AtomicReference<ActorRef<EntityKeeper.Command<WebhookEndpoint.Command>>> keeper = new AtomicReference<>();
    BiConsumer<String, WebhookEndpoint.Command> toEndpoint =
        (id, message) -> keeper.get().tell(EntityKeeper.deliver(id, message));
    HubAuthenticator authenticator = new HubAuthenticator(hubSettings.hubs(), clock, hubSettings.authTolerance(),
        hubSettings.replayCacheSize());
    ActorRef<HubRegistry.Command> hubs = context.spawn(HubRegistry.create(hubSettings, authenticator,
        hubId -> endpoints.ofHub(hubId).stream().map(Endpoint::id).toList(), toEndpoint, clock, hubMetrics), "hubs");
    PayloadLoader payloads = PayloadLoader.fromReadJournal(system, JdbcReadJournal.Identifier());
    keeper.set(context.spawn(EntityKeeper.create("webhook-endpoint",
        id -> WebhookEndpoint.create(id, settings, endpoints::get, hubs,
            () -> toEndpoint.accept(id, WebhookEndpoint.Wake.INSTANCE), payloads, clock, metrics),
        WebhookEndpoint.Passivate.INSTANCE, entityLimits, clock), "webhook-endpoints"));

    // On shutdown the hub streams end first (UNAVAILABLE: the hubs reconnect), as tunnel sockets are told
    // shutting_down: a live stream would otherwise hold the gRPC binding's drain until its deadline.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "close-hub-streams",
        () -> AskPattern.ask(hubs, HubRegistry.CloseAll::new, settings.askTimeout(), system.scheduler()));
    // Endpoints with queued webhooks resume at once (dead-lettering, redelivery when their hub connects).
    endpoints.all().forEach(endpoint -> toEndpoint.accept(endpoint.id(), WebhookEndpoint.Wake.INSTANCE));
    // So do deleted endpoints that an older version left with webhooks queued: waking fails those.
    statusTable.endpointsWithUnfinished().thenAccept(ids -> ids.stream().filter(id -> endpoints.get(id).isEmpty())
        .forEach(id -> toEndpoint.accept(id, WebhookEndpoint.Wake.INSTANCE))).exceptionally(failure -> {
          LOG.warn("cannot look for webhooks of deleted endpoints: {}", failure.toString());
          return null;
        });
    WebhookStatusProjection.start(system, statusTable, settings.projectionBatchSize());

    AdminAuth adminAuth = AdminAuth.from(config, clock);
    if (settings.adminToken().isBlank()) {
      LOG.warn("CONDUIT_ADMIN_TOKEN is not set: the admin API (/api/endpoints, /api/webhooks, /api/hubs, /api/instances) answers 503");
    }
    Route routes = Directives.concat(
        new IngestRoutes(system, keeper.get(), endpoints, new SignatureVerifier(clock, settings.signatureTolerance()),
            settings, clock, metrics).routes(),
        new AdminRoutes(system, adminAuth, endpoints, statusTable,
            StoredWebhooks.fromReadJournal(system, JdbcReadJournal.Identifier()), keeper.get(),
            hubSettings.hubs().keySet(), settings, clock).routes(),
        new HubRoutes(system, adminAuth, hubs, settings.askTimeout(), clock).routes());
    RelayServiceImpl relay = new RelayServiceImpl(system, hubs, hubSettings, settings.askTimeout());
    // gRPC, gRPC-Web and Connect hubs, by content type, wherever the hub service is served.
    HttpServer.GrpcService grpc = new HttpServer.GrpcService("/" + RelayService.name + "/",
        HubTransport.handler(system, relay, hubSettings, ConnectSettings.from(config)));
    return new WebhookRelay(system, routes, grpc, hubs, endpoints, statusTable, settings.askTimeout(), adminAuth);
  }

  public Route routes() {
    return routes;
  }

  /** The admin token check (and its per-address failure count), shared by every admin route. */
  public AdminAuth adminAuth() {
    return adminAuth;
  }

  public HttpServer.GrpcService grpcService() {
    return grpc;
  }

  /** The "webhook" section of GET /api/status: counts per delivery status (read table), endpoints, hubs. */
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
            .thenCombine(AskPattern.ask(hubs, HubRegistry.GetHubs::new, askTimeout, system.scheduler()),
                (byStatus, entries) -> {
                  ObjectNode webhooks = section.putObject("webhooks");
                  for (WebhookEndpoint.Status status : WebhookEndpoint.Status.values()) {
                    webhooks.put(status.wireName(), byStatus.getOrDefault(status.wireName(), 0L));
                  }
                  return section.put("hubs_configured", entries.size())
                      .put("hubs_connected", entries.stream().filter(e -> e.connection() != null).count());
                });
      }
    };
  }
}
