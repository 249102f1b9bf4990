package dev.conduit.persistence;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Runs one child entity per id on demand (a single-node stand-in for cluster sharding): messages are
 * routed by id, idle entities are passivated, at most {@link EntityLimits#maxLive()} run at once (starting
 * one more passivates the least recently used), and messages that arrive while an entity is stopping
 * are held and handed to its successor, so nothing is lost and no two incarnations of one persistent
 * entity ever run at once. Entities asked to stop are not counted: they stop once their persist in
 * flight, if any, completes.
 */
public final class EntityKeeper<C> {

  public sealed interface Command<C> {}

  /** Route message to the entity with this id, starting it if needed. */
  public record Deliver<C>(String id, C message) implements Command<C> {}

  private record PassivateIdle<C>() implements Command<C> {}

  private record EntityStopped<C>(String id, ActorRef<C> ref) implements Command<C> {}

  private static final Object SWEEP = "sweep";

  private final ActorContext<Command<C>> context;
  private final String kind;
  private final Function<String, Behavior<C>> factory;
  private final C stopMessage;
  private final Duration idleTimeout;
  private final int maxLive;
  private final Clock clock;
  /** In access order: the first entry is the least recently used. */
  private final LinkedHashMap<String, Running<C>> running = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<String, Stopping<C>> stopping = new HashMap<>();
  private long incarnations;
  private boolean capReached;

  private record Running<C>(ActorRef<C> ref, Instant lastUsed) {}

  private record Stopping<C>(ActorRef<C> ref, List<C> held) {}

  private EntityKeeper(ActorContext<Command<C>> context, String kind, Function<String, Behavior<C>> factory,
                       C stopMessage, EntityLimits limits, Clock clock) {
    this.context = context;
    this.kind = kind;
    this.factory = factory;
    this.stopMessage = stopMessage;
    this.idleTimeout = limits.idleTimeout();
    this.maxLive = limits.maxLive();
    this.clock = clock;
  }

  /**
   * @param kind        names the children (kind-id-n), for logs
   * @param factory     the entity behavior for an id
   * @param stopMessage what the entity answers by stopping (after any persist in flight)
   * @param limits      idle timeout and the most entities running at once
   */
  public static <C> Behavior<Command<C>> create(String kind, Function<String, Behavior<C>> factory, C stopMessage,
                                                 EntityLimits limits, Clock clock) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(SWEEP, new PassivateIdle<>(), limits.idleTimeout().dividedBy(2));
      return new EntityKeeper<>(context, kind, factory, stopMessage, limits, clock).behavior();
    }));
  }

  /** A message for this keeper, typed for callers that only deliver. */
  public static <C> Command<C> deliver(String id, C message) {
    return new Deliver<>(id, message);
  }

  private Behavior<Command<C>> behavior() {
    return Behaviors.receive((ctx, command) -> {
      if (command instanceof Deliver<C> d) {
        route(d.id(), d.message());
      } else if (command instanceof PassivateIdle<C>) {
        passivateIdle();
      } else if (command instanceof EntityStopped<C> s) {
        stopped(s.id(), s.ref());
      }
      return Behaviors.same();
    });
  }

  private void route(String id, C message) {
    Stopping<C> pending = stopping.get(id);
    if (pending != null) {
      pending.held().add(message);
      return;
    }
    Running<C> entity = running.get(id);
    ActorRef<C> ref = entity != null ? entity.ref() : start(id);
    running.put(id, new Running<>(ref, clock.instant()));
    ref.tell(message);
    if (running.size() > maxLive) {
      passivateLeastRecentlyUsed();
    }
  }

  /** Over the cap: the entity used longest ago stops (never the one just used: it is the most recent). */
  private void passivateLeastRecentlyUsed() {
    if (!capReached) {
      capReached = true;
      context.getLog().info("entity cap reached kind={} max_live={}: least recently used entities are passivated",
          kind, maxLive);
    }
    Iterator<Map.Entry<String, Running<C>>> eldest = running.entrySet().iterator();
    Map.Entry<String, Running<C>> entry = eldest.next();
    eldest.remove();
    context.getLog().debug("entity passivated kind={} id={} reason=max-live", kind, entry.getKey());
    passivate(entry.getKey(), entry.getValue().ref());
  }

  private void passivate(String id, ActorRef<C> ref) {
    stopping.put(id, new Stopping<>(ref, new ArrayList<>()));
    ref.tell(stopMessage);
  }

  private ActorRef<C> start(String id) {
    // Restarted in place on an unexpected exception: its mailbox, and so every message behind the one
    // that failed, survives (an event-sourced entity recovers its state from the journal again).
    Behavior<C> supervised = Behaviors.supervise(factory.apply(id)).onFailure(Exception.class, SupervisorStrategy.restart());
    ActorRef<C> ref = context.spawn(supervised, kind + "-" + encode(id) + "-" + (++incarnations));
    context.watchWith(ref, new EntityStopped<>(id, ref));
    return ref;
  }

  private void passivateIdle() {
    Instant cutoff = clock.instant().minus(idleTimeout);
    List<String> idle = running.entrySet().stream()
        .filter(e -> e.getValue().lastUsed().isBefore(cutoff)).map(Map.Entry::getKey).toList();
    for (String id : idle) {
      passivate(id, running.remove(id).ref());
    }
  }

  private void stopped(String id, ActorRef<C> ref) {
    Running<C> entity = running.get(id);
    if (entity != null && entity.ref().equals(ref)) {
      // Stopped on its own: the next message starts a fresh incarnation.
      running.remove(id);
      return;
    }
    Stopping<C> pending = stopping.remove(id);
    if (pending != null) {
      pending.held().forEach(message -> route(id, message));
    }
  }

  /** Actor names allow a limited alphabet; ids are user input. */
  private static String encode(String id) {
    return java.net.URLEncoder.encode(id, java.nio.charset.StandardCharsets.UTF_8);
  }
}
