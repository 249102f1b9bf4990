package dev.conduit;

import com.typesafe.config.Config;
import dev.conduit.persistence.Database;
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
      return Behaviors.receive(Command.class)
          .onMessage(SchemaReady.class, ready -> ready.failure() != null
              ? fail(context, started, "journal schema could not be created", ready.failure())
              : startFeatures(context, database, started))
          .build();
    });
  }

  private static Behavior<Command> startFeatures(ActorContext<Command> context, Database database,
                                                 CompletableFuture<ServerBinding> started) {
    Config config = context.getSystem().settings().config();
    Clock clock = Clock.systemUTC();
    Duration entityIdleTimeout = config.getDuration("conduit.entity-idle-timeout");

    TunnelSettings tunnelSettings = TunnelSettings.from(config);
    ActorRef<TunnelRegistry.Command> tunnel = context.spawn(TunnelRegistry.create(tunnelSettings,
        new RateLimiter(tunnelSettings.rateLimitBurst(), tunnelSettings.rateLimitPerSecond(), System::nanoTime),
        new TunnelMetrics(), clock, entityIdleTimeout), "tunnel");

    AtomicBoolean bound = new AtomicBoolean();
    Route routes = Directives.concat(
        new HealthRoutes(database, bound::get, tunnelSettings.askTimeout()).routes(),
        new TunnelRoutes(context.getSystem(), tunnel, tunnelSettings).routes(),
        new TunnelStatusRoutes(context.getSystem(), tunnel, tunnelSettings.askTimeout()).routes());

    String host = config.getString("conduit.http.host");
    int port = config.getInt("conduit.http.port");
    context.pipeToSelf(HttpServer.bind(context.getSystem(), host, port, routes, List.of()),
        (binding, failure) -> new Bound(binding, failure));
    return Behaviors.receive(Command.class)
        .onMessage(Bound.class, result -> {
          if (result.failure() != null) {
            return fail(context, started, "cannot bind " + host + ":" + port, result.failure());
          }
          bound.set(true);
          result.binding().addToCoordinatedShutdown(config.getDuration("conduit.shutdown-deadline"), context.getSystem());
          context.getLog().info("conduit listening address={} journal={}", HttpServer.describe(result.binding()),
              config.getString("pekko-persistence-jdbc.shared-databases.conduit.profile"));
          started.complete(result.binding());
          return Behaviors.empty();
        })
        .build();
  }

  private static Behavior<Command> fail(ActorContext<Command> context, CompletableFuture<ServerBinding> started,
                                        String what, Throwable cause) {
    context.getLog().error("conduit failed to start: {}: {}", what, cause.toString());
    started.completeExceptionally(new IllegalStateException(what, cause));
    return Behaviors.stopped();
  }
}
