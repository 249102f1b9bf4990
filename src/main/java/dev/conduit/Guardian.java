package dev.conduit;

import com.typesafe.config.Config;
import dev.conduit.hub.HubRegistry;
import dev.conduit.hub.HubRoutes;
import dev.conduit.hub.HubSettings;
import dev.conduit.hub.RelayServiceImpl;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.grpc.RelayService;
import dev.conduit.hub.grpc.RelayServiceHandlerFactory;
import dev.conduit.persistence.Database;
import dev.conduit.persistence.EntityKeeper;
import dev.conduit.server.AdminAuth;
import dev.conduit.webhook.AdminRoutes;
import dev.conduit.webhook.EndpointStore;
import dev.conduit.webhook.IngestRoutes;
import dev.conduit.webhook.WebhookEndpoint;
import dev.conduit.webhook.WebhookSettings;
import dev.conduit.webhook.WebhookStatusProjection;
import dev.conduit.webhook.WebhookStatusTable;
import dev.conduit.webhook.signature.SignatureVerifier;
import dev.conduit.server.HealthRoutes;
import dev.conduit.server.HttpServer;
import dev.conduit.tunnel.RateLimiter;
import dev.conduit.tunnel.TunnelMetrics;
import dev.conduit.tunnel.TunnelRegistry;
import dev.conduit.tunnel.TunnelRoutes;
import dev.conduit.tunnel.TunnelSettings;
import dev.conduit.tunnel.TunnelStatusRoutes;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Wires the relay: creates the journal schema, starts the feature actors, then binds the server.
 * The binding (or the reason there is none) completes {@code started}.
 */
public final class Guardian {

  public sealed interface Command {}

  private record SchemaReady(Throwable failure) implements Command {}

  private record TablesReady(Throwable failure) implements Command {}

  private record GrpcBound(ServerBinding binding, Throwable failure) implements Command {}

  private record Bound(ServerBinding binding, Throwable failure) implements Command {}

  private Guardian() {}

  public static Behavior<Command> create(CompletableFuture<ServerBinding> started) {
    return Behaviors.setup(context -> {
      Database database = new Database(context.getSystem());
      if (context.getSystem().settings().config().getBoolean("conduit.create-schema")) {
        context.pipeToSelf(database.createSchemaIfAbsent(), (done, failure) -> new SchemaReady(failure));
      } else {
        context.getSelf().tell(new SchemaReady(null));
      }
      EndpointStore endpointStore = new EndpointStore(database);
      WebhookStatusTable statusTable = new WebhookStatusTable(database);
      return Behaviors.receive(Command.class)
          .onMessage(SchemaReady.class, ready -> {
            if (ready.failure() != null) {
              return fail(context, started, "journal schema could not be created", ready.failure());
            }
            context.pipeToSelf(statusTable.createIfAbsent().thenCompose(done -> endpointStore.start()),
                (count, failure) -> new TablesReady(failure));
            return Behaviors.same();
          })
          .onMessage(TablesReady.class, ready -> ready.failure() != null
              ? fail(context, started, "webhook tables could not be created or read", ready.failure())
              : startFeatures(context, database, endpointStore, statusTable, started))
          .build();
    });
  }

  private static Behavior<Command> startFeatures(ActorContext<Command> context, Database database,
                                                 EndpointStore endpointStore, WebhookStatusTable statusTable,
                                                 CompletableFuture<ServerBinding> started) {
    Config config = context.getSystem().settings().config();
    Clock clock = Clock.systemUTC();
    Duration entityIdleTimeout = config.getDuration("conduit.entity-idle-timeout");

    TunnelSettings tunnelSettings = TunnelSettings.from(config);
    ActorRef<TunnelRegistry.Command> tunnel = context.spawn(TunnelRegistry.create(tunnelSettings,
        new RateLimiter(tunnelSettings.rateLimitBurst(), tunnelSettings.rateLimitPerSecond(), System::nanoTime),
        new TunnelMetrics(), clock, entityIdleTimeout), "tunnel");

    // Webhook relay: endpoint entities (one per endpoint, behind a keeper), hub registry, read side.
    WebhookSettings webhookSettings = WebhookSettings.from(config);
    HubSettings hubSettings = HubSettings.from(config);
    AtomicReference<ActorRef<EntityKeeper.Command<WebhookEndpoint.Command>>> keeperRef = new AtomicReference<>();
    java.util.function.BiConsumer<String, WebhookEndpoint.Command> toEndpoint =
        (id, message) -> keeperRef.get().tell(EntityKeeper.deliver(id, message));
    HubAuthenticator authenticator = new HubAuthenticator(hubSettings.hubs(), clock, hubSettings.authTolerance(),
        hubSettings.replayCacheSize());
    ActorRef<HubRegistry.Command> hubs = context.spawn(HubRegistry.create(hubSettings, authenticator,
        hubId -> endpointStore.ofHub(hubId).stream().map(e -> e.id()).toList(), toEndpoint, clock), "hubs");
    dev.conduit.webhook.PayloadLoader payloads = dev.conduit.webhook.PayloadLoader.fromReadJournal(
        context.getSystem(), org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal.Identifier());
    ActorRef<EntityKeeper.Command<WebhookEndpoint.Command>> endpointKeeper = context.spawn(
        EntityKeeper.create("webhook-endpoint",
            id -> WebhookEndpoint.create(id, webhookSettings, endpointStore::get, hubs,
                () -> toEndpoint.accept(id, WebhookEndpoint.Wake.INSTANCE), payloads, clock),
            WebhookEndpoint.Passivate.INSTANCE, entityIdleTimeout, clock), "webhook-endpoints");
    keeperRef.set(endpointKeeper);
    // Endpoints with queued webhooks resume at once (dead-lettering, redelivery when their hub connects).
    endpointStore.all().forEach(e -> toEndpoint.accept(e.id(), WebhookEndpoint.Wake.INSTANCE));
    WebhookStatusProjection.start(context.getSystem(), statusTable, webhookSettings.projectionBatchSize());
    AdminAuth adminAuth = new AdminAuth(webhookSettings.adminToken());
    if (webhookSettings.adminToken().isBlank()) {
      context.getLog().warn("CONDUIT_ADMIN_TOKEN is not set: the admin API (/api/endpoints, /api/webhooks, "
          + "/api/hubs) answers 503");
    }
    RelayService relay = new RelayServiceImpl(context.getSystem(), hubs, hubSettings, webhookSettings.askTimeout());
    HttpServer.GrpcService grpc = new HttpServer.GrpcService("/" + RelayService.name + "/",
        RelayServiceHandlerFactory.create(relay, context.getSystem()));

    AtomicBoolean bound = new AtomicBoolean();
    Route routes = Directives.concat(
        new HealthRoutes(database, bound::get, tunnelSettings.askTimeout()).routes(),
        new TunnelRoutes(context.getSystem(), tunnel, tunnelSettings).routes(),
        new TunnelStatusRoutes(context.getSystem(), tunnel, tunnelSettings.askTimeout(),
            body -> webhookStatus(context.getSystem(), statusTable, hubs, endpointStore, webhookSettings, body))
            .routes(),
        new IngestRoutes(context.getSystem(), endpointKeeper, endpointStore,
            new SignatureVerifier(clock, webhookSettings.signatureTolerance()), webhookSettings, clock).routes(),
        new AdminRoutes(context.getSystem(), adminAuth, endpointStore, statusTable, endpointKeeper,
            hubSettings.hubs().keySet(), webhookSettings, clock).routes(),
        new HubRoutes(context.getSystem(), adminAuth, hubs, webhookSettings.askTimeout()).routes());

    String host = config.getString("conduit.http.host");
    int port = config.getInt("conduit.http.port");
    int grpcPort = hubSettings.grpcPort();
    AtomicBoolean grpcReady = new AtomicBoolean(grpcPort == 0);
    AtomicReference<ServerBinding> httpBinding = new AtomicReference<>();
    if (hubSettings.tls() && grpcPort == 0) {
      return fail(context, started, "gRPC TLS needs its own port: set CONDUIT_GRPC_PORT",
          new IllegalArgumentException("conduit.hub.tls is set but conduit.hub.grpc-port is 0"));
    }
    if (grpcPort != 0) {
      org.apache.pekko.japi.function.Function<org.apache.pekko.http.javadsl.model.HttpRequest,
          java.util.concurrent.CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse>> grpcOnly =
          request -> request.getUri().path().startsWith(grpc.pathPrefix())
              ? grpc.handler().apply(request)
              : CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create()
                  .withStatus(404));
      org.apache.pekko.http.javadsl.ServerBuilder builder =
          Http.get(context.getSystem()).newServerAt(hubSettings.grpcHost(), grpcPort);
      if (hubSettings.tls()) {
        try {
          builder = builder.enableHttps(org.apache.pekko.http.javadsl.ConnectionContext.httpsServer(
              dev.conduit.hub.GrpcTls.serverContext(java.nio.file.Path.of(hubSettings.tlsCertificate()),
                  java.nio.file.Path.of(hubSettings.tlsPrivateKey()))));
        } catch (IllegalArgumentException e) {
          return fail(context, started, "gRPC TLS", e);
        }
      }
      context.pipeToSelf(builder.bind(grpcOnly), (binding, failure) -> new GrpcBound(binding, failure));
    }
    context.pipeToSelf(HttpServer.bind(context.getSystem(), host, port, routes,
            grpcPort == 0 ? List.of(grpc) : List.of()),
        (binding, failure) -> new Bound(binding, failure));
    return Behaviors.receive(Command.class)
        .onMessage(GrpcBound.class, result -> {
          if (result.failure() != null) {
            return fail(context, started, "cannot bind gRPC port " + hubSettings.grpcHost() + ":" + grpcPort,
                result.failure());
          }
          result.binding().addToCoordinatedShutdown(config.getDuration("conduit.shutdown-deadline"),
              context.getSystem());
          context.getLog().info("conduit gRPC listening address={} tls={}", HttpServer.describe(result.binding()),
              hubSettings.tls());
          grpcReady.set(true);
          if (httpBinding.get() != null) {
            started.complete(httpBinding.get());
          }
          return Behaviors.same();
        })
        .onMessage(Bound.class, result -> {
          if (result.failure() != null) {
            return fail(context, started, "cannot bind " + host + ":" + port, result.failure());
          }
          bound.set(true);
          result.binding().addToCoordinatedShutdown(config.getDuration("conduit.shutdown-deadline"), context.getSystem());
          context.getLog().info("conduit listening address={} journal={}", HttpServer.describe(result.binding()),
              config.getString("pekko-persistence-jdbc.shared-databases.conduit.profile"));
          // Started once every port is bound.
          httpBinding.set(result.binding());
          if (grpcReady.get()) {
            started.complete(result.binding());
          }
          return Behaviors.same();
        })
        .build();
  }

  /** The "webhook" section of /api/status: counts per delivery status (from the read table), hubs, endpoints. */
  private static java.util.concurrent.CompletionStage<com.fasterxml.jackson.databind.node.ObjectNode> webhookStatus(
      org.apache.pekko.actor.typed.ActorSystem<?> system, WebhookStatusTable statusTable,
      ActorRef<HubRegistry.Command> hubs, EndpointStore endpoints, WebhookSettings settings,
      com.fasterxml.jackson.databind.node.ObjectNode body) {
    var section = body.putObject("webhook");
    section.put("endpoints", endpoints.all().size());
    var counts = statusTable.countByStatus().thenAccept(byStatus -> {
      var webhooks = section.putObject("webhooks");
      for (WebhookEndpoint.Status status : WebhookEndpoint.Status.values()) {
        webhooks.put(status.wireName(), byStatus.getOrDefault(status.wireName(), 0L));
      }
    });
    // One after the other: the JSON tree is not thread-safe.
    return counts.thenCompose(done -> org.apache.pekko.actor.typed.javadsl.AskPattern.ask(hubs,
            HubRegistry.GetHubs::new, settings.askTimeout(), system.scheduler()))
        .thenApply(entries -> {
          section.put("hubs_configured", entries.size())
              .put("hubs_connected", entries.stream().filter(e -> e.connection() != null).count());
          return body;
        }).exceptionally(failure -> {
      section.put("error", "webhook status unavailable");
      return body;
    });
  }

  private static Behavior<Command> fail(ActorContext<Command> context, CompletableFuture<ServerBinding> started,
                                        String what, Throwable cause) {
    context.getLog().error("conduit failed to start: {}: {}", what, cause.toString());
    started.completeExceptionally(new IllegalStateException(what, cause));
    return Behaviors.stopped();
  }
}
