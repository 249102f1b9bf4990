package dev.conduit;

import com.typesafe.config.Config;
import dev.conduit.cluster.ClusterConfig;
import dev.conduit.persistence.DatabaseConfig;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;

/** A running relay: its actor system and bound ports. Used by Main, the tests and the benchmarks. */
public final class ConduitServer implements AutoCloseable {
  private final ActorSystem<Guardian.Command> system;
  private final Guardian.Bindings bindings;

  private ConduitServer(ActorSystem<Guardian.Command> system, Guardian.Bindings bindings) {
    this.system = system;
    this.bindings = bindings;
  }

  /** Starts the relay with application.conf under overrides; returns once the port is bound. */
  public static ConduitServer start(Config overrides) throws Exception {
    // Every relay is a cluster member (of one, unless seed nodes or bootstrap say otherwise).
    Config config = ClusterConfig.applyTo(DatabaseConfig.loadApplicationConfig(overrides, ClusterConfig.defaults()));
    CompletableFuture<Guardian.Bindings> started = new CompletableFuture<>();
    ActorSystem<Guardian.Command> system = ActorSystem.create(Guardian.create(started), ClusterConfig.SYSTEM_NAME, config);
    Duration timeout = config.getDuration("conduit.startup-timeout");
    try {
      return new ConduitServer(system, started.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      throw e;
    }
  }

  /** The public HTTP/WebSocket port. */
  public int port() {
    return bindings.http().localAddress().getPort();
  }

  /** The port serving the hub stream (gRPC): its own by default, the HTTP port with grpc-on-http-port. */
  public int grpcPort() {
    return bindings.grpc().localAddress().getPort();
  }

  public ActorSystem<?> system() {
    return system;
  }

  /** Graceful stop: unbinds, closes connections, stops actors. */
  @Override
  public void close() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
  }
}
