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
import java.util.concurrent.CompletableFuture;
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
  private final HubPresence.View view;
  private final DeliveryProtocol.Endpoints endpoints;
  private final HubSettings settings;
  private final Duration askTimeout;
  private final Route routes;
  private final HttpServer.GrpcService grpc;

  private HubRelay(ActorSystem<?> system, ActorRef<HubRegistry.Command> registry, HubPresence.View view,
                   DeliveryProtocol.Endpoints endpoints, HubSettings settings, Duration askTimeout, Route routes,
                   HttpServer.GrpcService grpc) {
    this.system = system;
    this.registry = registry;
    this.view = view;
    this.endpoints = endpoints;
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
    HubPresence.View view = new HubPresence.View();
    ActorRef<HubRegistry.Command> registry = context.spawn(
        HubRegistry.create(settings, authenticator, endpoints, clock, metrics, view, askTimeout), "hubs");
    // On shutdown the hub streams end first (UNAVAILABLE: the hubs reconnect), as tunnel sockets are told
    // shutting_down: a live stream would otherwise hold the gRPC binding's drain until its deadline.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "close-hub-streams",
        () -> AskPattern.ask(registry, HubRegistry.CloseAll::new, askTimeout, system.scheduler()));
    RelayServiceImpl relay = new RelayServiceImpl(system, registry, settings, askTimeout);
    // gRPC, gRPC-Web and Connect hubs, by content type, wherever the hub service is served.
    HttpServer.GrpcService grpc = new HttpServer.GrpcService("/" + RelayService.name + "/",
        HubTransport.handler(system, relay, settings, ConnectSettings.from(config)));
    Route routes = new HubRoutes(system, adminAuth, registry, askTimeout, clock).routes();
    return new HubRelay(system, registry, view, endpoints, settings, askTimeout, routes, grpc);
  }

  /**
   * Straight to the hub's live connection, on this node or another (one message; serialized only when
   * the connection is on another node), or NO_HUB to the endpoint when the hub is connected nowhere.
   */
  @Override
  public void offer(DeliveryProtocol.Offer offer) {
    offer(view, endpoints, offer);
  }

  static void offer(HubPresence.View view, DeliveryProtocol.Endpoints endpoints, DeliveryProtocol.Offer offer) {
    HubPresence presence = view.get(offer.hubId());
    if (presence == null) {
      endpoints.tell(offer.endpointId(), new DeliveryProtocol.OfferResult(offer.webhookId(), offer.attempt(),
          DeliveryProtocol.Outcome.NO_HUB));
    } else {
      presence.connection().tell(new HubConnection.Offer(offer));
    }
  }

  @Override
  public Set<String> configured() {
    return settings.hubs().keySet();
  }

  /** Configured hubs connected anywhere in the cluster (this node's view of the presence map). */
  @Override
  public CompletionStage<Long> connectedCount() {
    return CompletableFuture.completedFuture(
        view.connected().stream().filter(settings.hubs()::containsKey).count());
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
