package dev.conduit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.conduit.cluster.ClusterEventLog;
import dev.conduit.cluster.ClusterMembership;
import dev.conduit.hub.GrpcTls;
import dev.conduit.hub.HubMetrics;
import dev.conduit.hub.HubRelay;
import dev.conduit.hub.HubSettings;
import dev.conduit.metrics.Metrics;
import dev.conduit.metrics.MetricsRoutes;
import dev.conduit.persistence.Database;
import dev.conduit.persistence.DatabaseConfig;
import dev.conduit.persistence.EntityLimits;
import dev.conduit.server.AdminAuth;
import dev.conduit.server.ClientAddress;
import dev.conduit.server.HealthRoutes;
import dev.conduit.server.RepeatedLogFilter;
import dev.conduit.server.ConnectionGate;
import dev.conduit.server.HttpServer;
import dev.conduit.server.LogThrottle;
import dev.conduit.server.StatusRoutes;
import dev.conduit.tunnel.RateLimiter;
import dev.conduit.tunnel.TunnelMetrics;
import dev.conduit.tunnel.TunnelRegistry;
import dev.conduit.tunnel.TunnelRoutes;
import dev.conduit.tunnel.TunnelSettings;
import dev.conduit.tunnel.TunnelStatusRoutes;
import dev.conduit.ui.UiRoutes;
import dev.conduit.webhook.EndpointStore;
import dev.conduit.webhook.JournalImport;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import dev.conduit.webhook.WebhookMetrics;
import dev.conduit.webhook.WebhookRelay;
import dev.conduit.webhook.WebhookSettings;
import dev.conduit.webhook.WebhookTable;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Wires the relay: creates the journal schema and the webhook tables, starts the tunnel and webhook
 * relays, then binds the ports. The bindings (or the reason there are none) complete {@code started},
 * once every port is bound.
 */
public final class Guardian {

  /** The public HTTP/WebSocket binding and the one serving gRPC (the same one when gRPC shares the HTTP port). */
  public record Bindings(ServerBinding http, ServerBinding grpc) {}

  public sealed interface Command {}

  private record SchemaReady(Throwable failure) implements Command {}

  private record TablesReady(Throwable failure) implements Command {}

  private record Bound(String what, ServerBinding binding, Throwable failure) implements Command {}

  /** How often a stopping relay checks whether its tunnel sockets have closed. */
  private static final Duration SOCKET_CLOSE_POLL = Duration.ofMillis(50);

  private Guardian() {}

  public static Behavior<Command> create(CompletableFuture<Bindings> started) {
    return Behaviors.setup(context -> {
      // Joining overlaps the schema work; sharded entities buffer their messages until it is done.
      ClusterMembership membership = ClusterMembership.join(context.getSystem());
      context.spawn(ClusterEventLog.create(), "cluster-event-log");
      Database database = new Database(context.getSystem());
      if (context.getSystem().settings().config().getBoolean("conduit.create-schema")) {
        // Nodes of a cluster starting together on one database create the schema one at a time.
        context.pipeToSelf(database.exclusively(database::createSchemaIfAbsent), (done, failure) -> new SchemaReady(failure));
      } else {
        context.getSelf().tell(new SchemaReady(null));
      }
      EndpointStore endpoints = new EndpointStore(database);
      WebhookTable statusTable = new WebhookTable(database);
      return Behaviors.receive(Command.class)
          .onMessage(SchemaReady.class, ready -> {
            if (ready.failure() != null) {
              return fail(context, started, "journal schema could not be created", ready.failure());
            }
            // Webhooks journaled by versions before the webhooks table are imported once, before any
            // endpoint entity starts reading its queue from the table.
            // Under the start-up lock: a cluster's nodes must not run the one-time import twice.
            context.pipeToSelf(database.exclusively(() -> statusTable.createIfAbsent().thenCompose(done -> endpoints.start())
                    .thenCompose(count -> JournalImport.runOnce(context.getSystem(), database,
                        JdbcReadJournal.Identifier(),
                        context.getSystem().settings().config().getDuration("conduit.startup-timeout")))),
                (count, failure) -> new TablesReady(failure));
            return Behaviors.same();
          })
          .onMessage(TablesReady.class, ready -> {
            if (ready.failure() != null) {
              return fail(context, started, "webhook tables could not be created or read", ready.failure());
            }
            try {
              return startFeatures(context, membership, database, endpoints, statusTable, started);
            } catch (ConfigException e) {
              // A setting (usually a CONDUIT_* variable) has a bad value: say which, and stop at once
              // rather than leave the caller waiting for startup-timeout.
              return fail(context, started, "invalid setting", e);
            }
          })
          .build();
    });
  }

  private static Behavior<Command> startFeatures(ActorContext<Command> context, ClusterMembership membership,
                                                 Database database,
                                                 EndpointStore endpoints, WebhookTable statusTable,
                                                 CompletableFuture<Bindings> started) {
    Config config = context.getSystem().settings().config();
    // Built now, so a too-low open-file limit is reported at start-up rather than at the first connection.
    ConnectionGate gate = ConnectionGate.get(context.getSystem());
    Runnable removeLogFilter = RepeatedLogFilter.install(new RepeatedLogFilter(
        new LogThrottle(config.getDuration("conduit.connections.log-interval"), System::nanoTime)));
    context.getSystem().getWhenTerminated().thenRun(removeLogFilter);
    context.getLog().info("connection limits max_per_address={} max_total={} fd_limit={}", gate.maxPerAddress(),
        gate.maxTotal(), ConnectionGate.fileDescriptorLimit().map(String::valueOf).orElse("unknown"));
    Clock clock = Clock.systemUTC();
    EntityLimits entityLimits = EntityLimits.from(config);

    Metrics metrics = new Metrics();
    TunnelSettings tunnelSettings = TunnelSettings.from(config);
    TunnelMetrics tunnelMetrics = new TunnelMetrics();
    tunnelMetrics.register(metrics.registry());
    ActorRef<TunnelRegistry.Command> tunnel = context.spawn(TunnelRegistry.create(tunnelSettings,
        new RateLimiter(tunnelSettings.rateLimitBurst(), tunnelSettings.rateLimitPerSecond(), System::nanoTime),
        tunnelMetrics, clock, entityLimits), "tunnel");
    WebhookMetrics webhookMetrics = new WebhookMetrics(config.getInt("conduit.metrics.top-endpoints"));
    webhookMetrics.register(metrics.registry());
    HubMetrics hubMetrics = new HubMetrics();
    hubMetrics.register(metrics.registry());
    // The webhook side and the hub side, joined by the webhook side's DeliveryProtocol.
    AdminAuth adminAuth = AdminAuth.from(config, clock);
    List<HubRelay> hubSide = new java.util.ArrayList<>(1);
    WebhookRelay webhooks = WebhookRelay.start(context, config, endpoints, statusTable, clock, entityLimits,
        adminAuth, webhookMetrics, entities -> {
          HubRelay hubs = HubRelay.start(context, config, clock, adminAuth, entities,
              WebhookSettings.from(config).askTimeout(), hubMetrics);
          hubSide.add(hubs);
          return hubs;
        });
    HubRelay hubs = hubSide.get(0);
    double lookupsPerSecond = config.getDouble("conduit.tunnel.status-rate-limit.per-second");
    TunnelStatusRoutes tunnelStatus = new TunnelStatusRoutes(context.getSystem(), tunnel, tunnelSettings.askTimeout(),
        adminAuth,
        new RateLimiter(config.getInt("conduit.tunnel.status-rate-limit.burst"), lookupsPerSecond, System::nanoTime),
        lookupsPerSecond, new ClientAddress(tunnelSettings.trustedProxies()),
        new LogThrottle(config.getDuration("conduit.connections.log-interval"), System::nanoTime));

    TunnelRoutes tunnelRoutes = new TunnelRoutes(context.getSystem(), tunnel, tunnelSettings);
    // On shutdown every tunnel socket is told to reconnect and closed, and the relay waits for those streams
    // to finish. Best effort: pekko-http may still cut an upgraded connection before its last bytes are out.
    Duration shutdownDeadline = config.getDuration("conduit.shutdown-deadline");
    CoordinatedShutdown.get(context.getSystem()).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "close-tunnel-sockets",
        () -> AskPattern.ask(tunnel, TunnelRegistry.CloseAll::new, tunnelSettings.askTimeout(),
                context.getSystem().scheduler())
            .thenCompose(done -> tunnelRoutes.whenAllClosed(shutdownDeadline, SOCKET_CLOSE_POLL)));

    AtomicBoolean bound = new AtomicBoolean();
    // Webhook ingest first: it is the busiest path, and every route tried before it costs each webhook its
    // path matching and rejection (no other route serves /h/ or /api/endpoints, /api/webhooks).
    Route routes = Directives.concat(
        webhooks.routes(),
        new HealthRoutes(database, bound::get, tunnelSettings.askTimeout(), membership::isUp,
            membership::selfStatus).routes(),
        new MetricsRoutes(metrics.registry(), metricsAuth(config, clock)).routes(),
        tunnelRoutes.routes(),
        tunnelStatus.routes(),
        new StatusRoutes(List.of(membership.statusSection(), tunnelStatus.statusSection(),
            webhooks.statusSection())).routes(),
        hubs.routes(),
        new UiRoutes().routes());

    HubSettings hubSettings = HubSettings.from(config);
    boolean grpcOnOwnPort = !hubSettings.grpcOnHttpPort();
    if (hubSettings.tls() && !grpcOnOwnPort) {
      return fail(context, started, "gRPC TLS needs its own port: unset CONDUIT_GRPC_ON_HTTP_PORT",
          new IllegalArgumentException("conduit.hub.tls is set but conduit.hub.grpc-on-http-port is on"));
    }
    String host = config.getString("conduit.http.host");
    int port = config.getInt("conduit.http.port");
    int pending = 1;
    context.pipeToSelf(HttpServer.bind(context.getSystem(), host, port, routes,
            grpcOnOwnPort ? List.of() : List.of(hubs.grpcService())),
        (binding, failure) -> new Bound("http", binding, failure));
    if (grpcOnOwnPort) {
      Optional<SSLContext> tls;
      try {
        tls = hubSettings.tls() ? Optional.of(GrpcTls.serverContext(Path.of(hubSettings.tlsCertificate()),
            Path.of(hubSettings.tlsPrivateKey()))) : Optional.empty();
      } catch (IllegalArgumentException e) {
        return fail(context, started, "gRPC TLS", e);
      }
      CompletionStage<ServerBinding> grpc = HttpServer.bindGrpc(context.getSystem(), hubSettings.grpcHost(),
          hubSettings.grpcPort(), hubs.grpcService(), tls);
      context.pipeToSelf(grpc, (binding, failure) -> new Bound("grpc", binding, failure));
      pending++;
    }
    return awaitBindings(context, started, config, bound, pending, null, null);
  }

  private static Optional<AdminAuth> metricsAuth(Config config, Clock clock) {
    String token = config.getString("conduit.metrics.bearer-token");
    return token.isBlank() ? Optional.empty() : Optional.of(AdminAuth.forToken(token, config, clock));
  }

  /** Waits for every port; started completes with the public ("http") and the gRPC binding. */
  private static Behavior<Command> awaitBindings(ActorContext<Command> context, CompletableFuture<Bindings> started,
                                                 Config config, AtomicBoolean bound, int pending,
                                                 ServerBinding publicBinding, ServerBinding grpcBinding) {
    return Behaviors.receive(Command.class)
        .onMessage(Bound.class, result -> {
          if (result.failure() != null) {
            return fail(context, started, "cannot bind the " + result.what() + " port", result.failure());
          }
          result.binding().addToCoordinatedShutdown(config.getDuration("conduit.shutdown-deadline"), context.getSystem());
          context.getLog().info("conduit listening port={} address={} journal={}", result.what(),
              HttpServer.describe(result.binding()),
              DatabaseConfig.from(config).kind().name().toLowerCase(java.util.Locale.ROOT));
          ServerBinding http = "http".equals(result.what()) ? result.binding() : publicBinding;
          ServerBinding grpc = "grpc".equals(result.what()) ? result.binding() : grpcBinding;
          if (pending > 1) {
            return awaitBindings(context, started, config, bound, pending - 1, http, grpc);
          }
          bound.set(true);
          started.complete(new Bindings(http, grpc == null ? http : grpc));
          return Behaviors.empty();
        })
        .build();
  }

  private static Behavior<Command> fail(ActorContext<Command> context, CompletableFuture<Bindings> started,
                                        String what, Throwable cause) {
    context.getLog().error("conduit failed to start: {}: {}", what, cause.toString());
    // The message carries the cause's, so the caller's one last line says what went wrong, not only where.
    started.completeExceptionally(new IllegalStateException(what + ": " + cause.getMessage(), cause));
    return Behaviors.stopped();
  }
}
