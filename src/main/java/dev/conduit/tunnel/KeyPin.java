package dev.conduit.tunnel;

import dev.conduit.persistence.JsonSerializable;
import dev.conduit.persistence.PersistenceIds;
import dev.conduit.persistence.PersistFailures;
import java.time.Clock;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * The public key pinned to one instance id: the first registration pins it, in the journal, and every
 * later registration must present the same key. This is what stops an instance id from being hijacked.
 */
public final class KeyPin extends EventSourcedBehavior<KeyPin.Command, KeyPin.Event, KeyPin.State> {
  static final String ENTITY_TYPE = "KeyPin";
  /** The longest instance id the journal can hold a pin for (248): longer ones are refused as invalid_field. */
  public static final int MAX_INSTANCE_ID_LENGTH = PersistenceIds.maxEntityIdLength(ENTITY_TYPE);

  public sealed interface Command {}

  /** Pin publicKey if nothing is pinned yet, else compare it with the pin. */
  public record Check(String publicKey, ActorRef<Result> replyTo) implements Command {}

  /** Is anything pinned for this id? Answers PINNED or NOT_PINNED. */
  public record Lookup(ActorRef<Result> replyTo) implements Command {}

  public enum Passivate implements Command { INSTANCE }

  public enum Result { PINNED_NOW, MATCHES, MISMATCH, PINNED, NOT_PINNED }

  public sealed interface Event extends JsonSerializable {}

  public record KeyPinned(String publicKey, Instant pinnedAt) implements Event {}

  /** publicKey is null until pinned. */
  public record State(String publicKey) implements JsonSerializable {}

  private final Clock clock;

  private KeyPin(String instanceId, Clock clock) {
    super(PersistenceIds.of(ENTITY_TYPE, instanceId), PersistFailures.restartWithBackoff());
    this.clock = clock;
  }

  public static Behavior<Command> create(String instanceId, Clock clock) {
    return new KeyPin(instanceId, clock);
  }

  @Override
  public State emptyState() {
    return new State(null);
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
    if (state.publicKey() == null) {
      return Effect().persist(new KeyPinned(check.publicKey(), clock.instant()))
          .thenReply(check.replyTo(), s -> Result.PINNED_NOW);
    }
    Result result = state.publicKey().equals(check.publicKey()) ? Result.MATCHES : Result.MISMATCH;
    return Effect().reply(check.replyTo(), result);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(KeyPinned.class, (state, event) -> new State(event.publicKey()))
        .build();
  }
}
