package dev.conduit.hub.client;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** Handle on a started {@link HubClient}: its counters, and {@link #close()} to stop it. */
public final class RunningHubClient implements AutoCloseable {
  private final ActorSystem<?> system;
  private final ActorRef<HubClient.Command> actor;
  private final HubClientStats stats;
  private final Duration stopTimeout;
  private final AtomicBoolean closed = new AtomicBoolean();

  RunningHubClient(ActorSystem<?> system, ActorRef<HubClient.Command> actor, HubClientStats stats,
                   Duration stopTimeout) {
    this.system = system;
    this.actor = actor;
    this.stats = stats;
    this.stopTimeout = stopTimeout;
  }

  public HubClientStats stats() {
    return stats;
  }

  public ActorRef<HubClient.Command> actor() {
    return actor;
  }

  /** Stops the client and waits until its stream is closed ({@link HubClient.Stop}). Idempotent. */
  @Override
  public void close() throws Exception {
    stop().toCompletableFuture().get(stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Asks the client to stop; completes when it has (at once if it was asked before). Never fails. */
  public CompletionStage<Done> stop() {
    if (!closed.compareAndSet(false, true)) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return AskPattern.<HubClient.Command, Done>ask(actor, HubClient.Stop::new, stopTimeout, system.scheduler())
        .exceptionally(failure -> Done.getInstance());
  }
}
