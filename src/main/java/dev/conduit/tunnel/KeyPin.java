package dev.conduit.tunnel;

import dev.conduit.cluster.ClusterSerializable;
import dev.conduit.persistence.EntityLimits;
import dev.conduit.persistence.JsonSerializable;
import dev.conduit.persistence.PersistenceIds;
import dev.conduit.persistence.PersistFailures;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * The public key pinned to one instance id: the first registration pins it, in the journal, and every
 * later registration must present the same key. This is what stops an instance id from being hijacked.
 * Once a registration of the id has proven possession of the key (relay protocol 1.1), that is
 * journalled too, and from then on every registration of the id must prove it: the public key, which
 * every client learns, no longer registers the id even while the real instance is offline. Ids never
 * proven (instances before 1.1) register with the key alone, as before.
 */
public final class KeyPin extends EventSourcedBehavior<KeyPin.Command, KeyPin.Event, KeyPin.State> {
  static final String ENTITY_TYPE = "KeyPin";
  /** The longest instance id the journal can hold a pin for (248): longer ones are refused as invalid_field. */
  public static final int MAX_INSTANCE_ID_LENGTH = PersistenceIds.maxEntityIdLength(ENTITY_TYPE);

  /**
   * The sharding type: one entity per instanceId, passivated by {@link EntityLimits#shardingSettings}. Its
   * persistence id stays {@code KeyPin|<instanceId>} ({@link PersistenceIds}), as before sharding.
   */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, ENTITY_TYPE);

  public sealed interface Command extends ClusterSerializable {}

  /**
   * Pin publicKey if nothing is pinned yet, else compare it with the pin. proven: this registration proved
   * possession of the key's private key (remembered for good); an unproven one for an id proven before
   * gets PROOF_REQUIRED.
   */
  public record Check(String publicKey, boolean proven, ActorRef<Result> replyTo) implements Command {}

  /** Is anything pinned for this id? Answers PINNED or NOT_PINNED. */
  public record Lookup(ActorRef<Result> replyTo) implements Command {}

  /** Cluster Sharding's stop message (passivation, hand-off): stops once a persist in flight is done. */
  public enum Passivate implements Command { INSTANCE }

  public enum Result implements ClusterSerializable { PINNED_NOW, MATCHES, MISMATCH, PROOF_REQUIRED, PINNED, NOT_PINNED }

  public sealed interface Event extends JsonSerializable {}

  public record KeyPinned(String publicKey, Instant pinnedAt) implements Event {}

  /** A registration proved possession of the pinned key's private key (relay protocol 1.1). */
  public record PossessionProven(Instant provenAt) implements Event {}

  /** publicKey is null until pinned; proven: possession of its private key was proven once. */
  public record State(String publicKey, boolean proven) implements JsonSerializable {}

  private final Clock clock;

  private KeyPin(String instanceId, Clock clock) {
    super(PersistenceIds.of(ENTITY_TYPE, instanceId), PersistFailures.restartWithBackoff());
    this.clock = clock;
  }

  public static Behavior<Command> create(String instanceId, Clock clock) {
    return new KeyPin(instanceId, clock);
  }

  /** Starts this node's shard region for KeyPin entities (idempotent per actor system). */
  public static void init(ActorSystem<?> system, Clock clock, EntityLimits limits) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), clock))
        .withStopMessage(Passivate.INSTANCE)
        .withSettings(limits.shardingSettings(system)));
  }

  @Override
  public State emptyState() {
    return new State(null, false);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Check.class, this::check)
        .onCommand(Lookup.class, (state, lookup) -> Effect().reply(lookup.replyTo(),
            state.publicKey() == null ? Result.NOT_PINNED : Result.PINNED))
        .onCommand(Passivate.class, (state, cmd) -> Effect().stop())
        .build();
  }

  private Effect<Event, State> check(State state, Check check) {
    Instant now = clock.instant();
    if (state.publicKey() == null) {
      KeyPinned pinned = new KeyPinned(check.publicKey(), now);
      return Effect().persist(check.proven() ? List.of(pinned, new PossessionProven(now)) : List.of(pinned))
          .thenReply(check.replyTo(), s -> Result.PINNED_NOW);
    }
    if (!state.publicKey().equals(check.publicKey())) {
      return Effect().reply(check.replyTo(), Result.MISMATCH);
    }
    if (check.proven() && !state.proven()) {
      return Effect().persist(new PossessionProven(now)).thenReply(check.replyTo(), s -> Result.MATCHES);
    }
    return Effect().reply(check.replyTo(), !check.proven() && state.proven() ? Result.PROOF_REQUIRED : Result.MATCHES);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(KeyPinned.class, (state, event) -> new State(event.publicKey(), state.proven()))
        .onEvent(PossessionProven.class, (state, event) -> new State(state.publicKey(), true))
        .build();
  }
}
