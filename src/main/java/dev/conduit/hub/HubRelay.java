package dev.conduit.hub;

import com.typesafe.config.Config;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.connect.ConnectSettings;
import dev.conduit.hub.connect.HubTransport;
import dev.conduit.hub.grpc.RelayService;
import dev.conduit.server.AdminAuth;
import dev.conduit.server.HttpServer;
import dev.conduit.webhook.DeliveryProtocol;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The hub side of the webhook relay, assembled: the registry of hub connections, the gRPC / gRPC-Web /
 * Connect service hubs connect to, {@code GET /api/hubs}; and, for the webhook side, the
 * {@link DeliveryProtocol} it implements (offers in, answers out to endpoints by id).
 */
public final class HubRelay implements DeliveryProtocol.HubSide {
  private final ActorSystem<?> system;
  private final ActorRef<HubRegistry.Command> registry;
  private final HubSettings settings;
  private final Duration askTimeout;
  private final Route routes;
  private final HttpServer.GrpcService grpc;

  private HubRelay(ActorSystem<?> system, ActorRef<HubRegistry.Command> registry, HubSettings settings,
                   Duration askTimeout, Route routes, HttpServer.GrpcService grpc) {
    this.system = system;
    this.registry = registry;
    this.settings = settings;
    this.askTimeout = askTimeout;
    this.routes = routes;
    this.grpc = grpc;
  }

  /**
   * Spawns the registry under context and registers the shutdown task that ends every hub stream.
   *
   * @param endpoints  the webhook side: where answers to offers, acks and kicks go, by endpoint id
   * @param askTimeout for the registry's internal requests (stream accept, status)
   * @param metrics    hubs connected, replacements and evictions
   */
  public static HubRelay start(ActorContext<?> context, Config config, Clock clock, AdminAuth adminAuth,
                               DeliveryProtocol.Endpoints endpoints, Duration askTimeout,
                               HubMetrics metrics) {
    ActorSystem<?> system = context.getSystem();
    HubSettings settings = HubSettings.from(config);
    HubAuthenticator authenticator = new HubAuthenticator(settings.hubs(), clock, settings.authTolerance(),
        settings.replayCacheSize());
    ActorRef<HubRegistry.Command> registry = context.spawn(
        HubRegistry.create(settings, authenticator, endpoints, clock, metrics), "hubs");
    // On shutdown the hub streams end first (UNAVAILABLE: the hubs reconnect), as tunnel sockets are told
    // shutting_down: a live stream would otherwise hold the gRPC binding's drain until its deadline.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "close-hub-streams",
        () -> AskPattern.ask(registry, HubRegistry.CloseAll::new, askTimeout, system.scheduler()));
    RelayServiceImpl relay = new RelayServiceImpl(system, registry, settings, askTimeout);
    // gRPC, gRPC-Web and Connect hubs, by content type, wherever the hub service is served.
    HttpServer.GrpcService grpc = new HttpServer.GrpcService("/" + RelayService.name + "/",
        HubTransport.handler(system, relay, settings, ConnectSettings.from(config)));
    Route routes = new HubRoutes(system, adminAuth, registry, askTimeout, clock).routes();
    return new HubRelay(system, registry, settings, askTimeout, routes, grpc);
  }

  @Override
  public void offer(DeliveryProtocol.Offer offer) {
    registry.tell(new HubRegistry.Offer(offer));
  }

  @Override
  public Set<String> configured() {
    return settings.hubs().keySet();
  }

  @Override
  public CompletionStage<Long> connectedCount() {
    return AskPattern.ask(registry, HubRegistry.GetHubs::new, askTimeout, system.scheduler())
        .thenApply(entries -> entries.stream().filter(e -> e.connection() != null).count());
  }

  /** {@code GET /api/hubs} (admin token). */
  public Route routes() {
    return routes;
  }

  /** The hub stream service, for whichever port serves gRPC. */
  public HttpServer.GrpcService grpcService() {
    return grpc;
  }
}
