package dev.conduit.tunnel;

import dev.conduit.cluster.ClusterSerializable;
import dev.conduit.persistence.EntityLimits;
import dev.conduit.persistence.JsonSerializable;
import dev.conduit.persistence.PersistenceIds;
import dev.conduit.persistence.PersistFailures;
import java.time.Clock;
import java.time.Instant;
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
 * One claim code: created by an instance, consumed by the first client that connects with it.
 * Being one actor per code is what makes consumption atomic: two clients racing for the same code
 * are answered one after the other, and only the first gets it.
 */
public final class ClaimCode extends EventSourcedBehavior<ClaimCode.Command, ClaimCode.Event, ClaimCode.State> {
  static final String ENTITY_TYPE = "ClaimCode";
  /** The longest code the journal could hold (245); a typed claim_code longer than this is refused as invalid_field. */
  public static final int MAX_CODE_LENGTH = PersistenceIds.maxEntityIdLength(ENTITY_TYPE);

  /**
   * The sharding type: one entity per code, passivated by {@link EntityLimits#shardingSettings}. Its
   * persistence id stays {@code ClaimCode|<code>} ({@link PersistenceIds}), as before sharding.
   */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, ENTITY_TYPE);

  public sealed interface Command extends ClusterSerializable {}

  public record Create(String claimId, String instanceId, String userId, Instant expiresAt,
                       ActorRef<CreateResult> replyTo) implements Command {}

  /** consumer identifies this attempt (a random token), so only it can give the code back. */
  public record Consume(String consumer, ActorRef<ConsumeResult> replyTo) implements Command {}

  /**
   * Give a consumed code back because the connect it was spent on did not happen (instance offline,
   * client gone before it was paired). Only the consumer that took it can; anything else is ignored.
   */
  public record Release(String consumer) implements Command {}

  /** Cluster Sharding's stop message (passivation, hand-off): stops once a persist in flight is done. */
  public enum Passivate implements Command { INSTANCE }

  public enum CreateResult implements ClusterSerializable { CREATED, CODE_TAKEN }

  public sealed interface ConsumeResult {}

  public record Granted(String claimId, String instanceId, String userId) implements ConsumeResult, ClusterSerializable {}

  /** The code cannot be used; message is the protocol's error text. */
  public record Refused(String message) implements ConsumeResult, ClusterSerializable {}

  public sealed interface Event extends JsonSerializable {}

  public record Created(String claimId, String instanceId, String userId, Instant expiresAt) implements Event {}

  public record Consumed(String claimId, Instant at, String consumer) implements Event {}

  public record Released(String claimId) implements Event {}

  /** claim is null until created; consumedBy is null while the code is unused. */
  public record State(Created claim, String consumedBy) implements JsonSerializable {
    boolean used() {
      return consumedBy != null;
    }
  }

  private final Clock clock;

  private ClaimCode(String code, Clock clock) {
    super(PersistenceIds.of(ENTITY_TYPE, code), PersistFailures.restartWithBackoff());
    this.clock = clock;
  }

  public static Behavior<Command> create(String code, Clock clock) {
    return new ClaimCode(code, clock);
  }

  /** Starts this node's shard region for ClaimCode entities (idempotent per actor system). */
  public static void init(ActorSystem<?> system, Clock clock, EntityLimits limits) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), clock))
        .withStopMessage(Passivate.INSTANCE)
        .withSettings(limits.shardingSettings(system)));
  }

  @Override
  public State emptyState() {
    return new State(null, null);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Create.class, this::create)
        .onCommand(Consume.class, this::consume)
        .onCommand(Release.class, this::release)
        .onCommand(Passivate.class, (state, cmd) -> Effect().stop())
        .build();
  }

  private Effect<Event, State> create(State state, Create create) {
    // A code may be reused once its previous claim has expired; a live one is never overwritten.
    if (state.claim() != null && clock.instant().isBefore(state.claim().expiresAt())) {
      return Effect().reply(create.replyTo(), CreateResult.CODE_TAKEN);
    }
    Created created = new Created(create.claimId(), create.instanceId(), create.userId(), create.expiresAt());
    return Effect().persist(created).thenReply(create.replyTo(), s -> CreateResult.CREATED);
  }

  private Effect<Event, State> consume(State state, Consume consume) {
    Created claim = state.claim();
    if (claim == null) {
      return Effect().reply(consume.replyTo(), new Refused(Replies.INVALID_CLAIM));
    }
    if (state.used()) {
      return Effect().reply(consume.replyTo(), new Refused(Replies.CLAIM_USED));
    }
    if (!clock.instant().isBefore(claim.expiresAt())) {
      return Effect().reply(consume.replyTo(), new Refused(Replies.CLAIM_EXPIRED));
    }
    return Effect().persist(new Consumed(claim.claimId(), clock.instant(), consume.consumer()))
        .thenReply(consume.replyTo(), s -> new Granted(claim.claimId(), claim.instanceId(), claim.userId()));
  }

  private Effect<Event, State> release(State state, Release release) {
    if (state.claim() == null || !release.consumer().equals(state.consumedBy())) {
      return Effect().none();
    }
    return Effect().persist(new Released(state.claim().claimId()));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Created.class, (state, event) -> new State(event, null))
        .onEvent(Consumed.class, (state, event) -> new State(state.claim(), event.consumer()))
        .onEvent(Released.class, (state, event) -> new State(state.claim(), null))
        .build();
  }
}
