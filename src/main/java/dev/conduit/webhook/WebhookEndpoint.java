package dev.conduit.webhook;

import dev.conduit.cluster.ClusterSerializable;
import dev.conduit.persistence.PersistFailures;
import dev.conduit.server.Durations;
import dev.conduit.webhook.DeliveryProtocol.Ack;
import dev.conduit.webhook.DeliveryProtocol.Kick;
import dev.conduit.webhook.DeliveryProtocol.OfferResult;
import dev.conduit.webhook.DeliveryProtocol.Outcome;
import dev.conduit.webhook.DeliveryProtocol.Requeue;
import dev.conduit.webhook.EndpointState.InFlight;
import dev.conduit.webhook.EndpointState.Webhook;
import dev.conduit.webhook.signature.Verdict;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One endpoint's delivery queue: a typed actor per endpoint id, addressed only through
 * {@link EndpointEntities}. The queue lives in memory ({@link EndpointState}, changed only by its pure
 * transitions on {@link WebhookEvent}s); its durable form is the endpoint's rows of the {@code webhooks}
 * table ({@link WebhookTable}), which every change is written to through the group-commit
 * {@link WebhookWriter}. Most changes count only once committed: a sender gets its 2xx, and a failed or
 * retried webhook's successor is offered, only then; while such a write is in flight, other messages wait
 * (stashed), as with an event-sourced entity, and the ingests that arrived meanwhile go out together in
 * the next. Two status changes nothing has to wait for (a hub took the webhook; it was delivered) apply at
 * once and are written with a later commit ({@link #persistLater}): losing one in a crash only means the
 * webhook is offered again. On start the entity reads its queued rows back (one indexed query).
 *
 * <p>Order: only the head of the queue is ever in flight; webhook n+1 is offered only once webhook n's
 * outcome is known (failed and dead-lettered ones stored; a delivered one maybe not yet, so after a crash
 * it can be offered again, before n+1). Which webhook is in flight is transient: after a restart nothing
 * is, and the head is offered again (hubs de-duplicate by id). A failed write restarts the entity (with
 * backoff) so that its memory is again what the table holds.
 */
public final class WebhookEndpoint {

  // ---------------------------------------------------------------- protocol

  /**
   * Everything the entity handles; the hub side's messages are {@link DeliveryProtocol.ToEndpoint}. Every
   * message sent to the entity through sharding may cross between nodes, hence ClusterSerializable (the
   * entity's private messages to itself never leave its node).
   */
  public interface Command extends ClusterSerializable {}

  /** The entity type: one entity per endpoint id, run by Cluster Sharding (see {@link #init}). */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "webhook-endpoint");

  /** Store a new webhook; the reply comes only after it is committed. */
  public record Ingest(Incoming webhook, ActorRef<Ingested> replyTo) implements Command {}

  /** stored: false when the endpoint was deleted (or is being deleted) first; nothing was stored then. */
  public record Ingested(String webhookId, boolean stored) implements ClusterSerializable {}

  /** Due retries and dead letters: sent by the entity's own sweep timer (and by tests). */
  public enum Sweep implements Command { INSTANCE }

  /** Start (recover) and stay alive while there is work; sent at start-up to every endpoint. */
  public enum Wake implements Command { INSTANCE }

  public record Replay(String webhookId, ActorRef<ReplayResult> replyTo) implements Command {}

  public enum ReplayResult implements ClusterSerializable { REPLAYED, NOT_FOUND, NOT_REPLAYABLE, ENDPOINT_DELETED }

  public record GetState(ActorRef<EndpointState> replyTo) implements Command {}

  /**
   * Deletes the endpoint's definition through this entity, so that deletion and ingest are ordered:
   * without force, refused while anything is queued or being stored; with force, every queued webhook is
   * first marked failed ("endpoint deleted", replayable only if the endpoint comes back, which it cannot).
   * Ingests that arrive once the deletion started store nothing and answer {@code stored = false}. The
   * entity deletes the definition itself (table, every node's cache) with the remover it was started with.
   */
  public record Delete(boolean force, ActorRef<DeleteResult> replyTo) implements Command {}

  public sealed interface DeleteResult extends ClusterSerializable {}

  /** failed: queued webhooks marked failed by a forced delete. */
  public record Deleted(int failed) implements DeleteResult {}

  /** Not deleted: queued webhooks (or ingests being stored) and no force. */
  public record StillQueued(int queued) implements DeleteResult {}

  public enum DeleteRefused implements DeleteResult { NOT_FOUND, IN_PROGRESS }

  /**
   * The definition could not be deleted (database); webhooks a forced delete failed stay failed
   * (replayable). cause: the failure's description (a Throwable would not cross between nodes).
   */
  public record DeleteFailed(String cause) implements DeleteResult {}

  /** Error recorded on webhooks failed because their endpoint was deleted. */
  public static final String ENDPOINT_DELETED = "endpoint deleted";

  public enum Passivate implements Command { INSTANCE }

  /** What ingest hands to the entity; headers as byte strings, query raw or null (see WebhookEvent.Received). */
  public record Incoming(String webhookId, Instant receivedAt, Map<String, String> headers, byte[] body,
                         Verdict verdict, String query) {}

  /** The entity's own sweep timer. */
  private enum Tick implements Command { INSTANCE }

  /** The queued rows read at start, or why they could not be. */
  private record Recovered(List<Webhook> queue, Throwable failure) implements Command {}

  /** The write in flight committed (failure null) or failed. */
  private record Written(Throwable failure) implements Command {}

  /** A status write handed to {@link WebhookWriter#writeLater} committed (failure null) or failed. */
  private record WrittenLater(List<String> webhookIds, CompletableFuture<Void> write, Throwable failure)
      implements Command {}

  /** dispatch: which dispatchHead asked for it (a slow read from an abandoned dispatch is ignored). */
  private record PayloadLoaded(long dispatch, String webhookId, Optional<WebhookEvent.Received> payload,
                               Throwable failure) implements Command {}

  private record ReplayLoaded(Replay replay, Optional<WebhookTable.Row> row, Throwable failure) implements Command {}

  private record DeleteDone(ActorRef<DeleteResult> replyTo, int failed, Boolean existed, Throwable failure)
      implements Command {}

  /** Store the ingests collected since the last flush, in one write. */
  private enum Flush implements Command { INSTANCE }

  // ---------------------------------------------------------------- state

  private final String endpointId;
  private final WebhookSettings settings;
  private final Function<String, Optional<Endpoint>> endpoints;
  private final Function<String, CompletionStage<Boolean>> removeDefinition;
  private final DeliveryProtocol.Hubs hubs;
  private final Runnable keepAlive;
  private final WebhookTable table;
  private final WebhookWriter writer;
  private final Clock clock;
  private final WebhookMetrics metrics;
  private final ActorContext<Command> context;
  private final StashBuffer<Command> stash;

  /** The queue as committed to the table. */
  private EndpointState state = EndpointState.EMPTY;
  /** The webhook offered to or held by a hub connection right now, or null. */
  private InFlight inFlight;
  /** The hub connection that accepted the webhook in flight (OfferResult.connection), or null. */
  private String inFlightConnection;
  /** After BUSY / NO_HUB: no new offer before this instant unless kicked. */
  private Instant offerBlockedUntil;
  /** Counts dispatchHead calls that started a dispatch. */
  private long dispatches;
  /** Payloads of queued webhooks kept in memory since their ingest (up to held-payload-bytes). */
  private final HeldPayloads held;
  /** The head's payload when it had to be read from the table (reused for its retries). */
  private WebhookEvent.Received headPayload;
  /** A deletion of the endpoint is under way: ingests are answered "not stored". */
  private boolean deleting;
  /** Since when this node's copy of the definitions has lacked this endpoint while webhooks are queued (null: it has it). */
  private Instant definitionMissingSince;
  /**
   * Ingests waiting for the next Flush. While a write is in flight other messages are stashed; when it
   * completes they are all taken in here before the Flush sent after the first of them, so a burst for one
   * endpoint becomes one write instead of one round trip per webhook.
   */
  private final List<Ingest> pendingIngests = new ArrayList<>();
  /**
   * Rows with a status write not yet committed (webhook id -> its latest such write): an awaited write of
   * the same row is sent only once that one committed, so the row ends in the state the entity last gave
   * it (status writes among themselves are committed in order by the writer).
   */
  private final Map<String, CompletableFuture<Void>> writingLater = new HashMap<>();
  private boolean flushScheduled;
  /** The behaviour between writes (built once: it is returned after every write). */
  private Behavior<Command> running;

  // ---------------------------------------------------------------- behaviour

  private WebhookEndpoint(String endpointId, WebhookSettings settings, Function<String, Optional<Endpoint>> endpoints,
                          Function<String, CompletionStage<Boolean>> removeDefinition, DeliveryProtocol.Hubs hubs, Runnable keepAlive, WebhookTable table, WebhookWriter writer,
                          Clock clock, WebhookMetrics metrics, ActorContext<Command> context,
                          StashBuffer<Command> stash) {
    this.endpointId = endpointId;
    this.settings = settings;
    this.endpoints = endpoints;
    this.removeDefinition = removeDefinition;
    this.hubs = hubs;
    this.keepAlive = keepAlive;
    this.table = table;
    this.writer = writer;
    this.clock = clock;
    this.metrics = metrics;
    this.context = context;
    this.stash = stash;
    this.held = new HeldPayloads(settings.heldPayloadBytes());
  }

  /**
   * @param endpoints looks up the endpoint's current definition (destination, hub) at dispatch time
   * @param removeDefinition deletes the endpoint's definition (table and caches); true when it existed
   * @param hubs      where offers go (routed to the hub's live connection; answers come by endpoint id)
   * @param keepAlive called on every sweep while the queue is not empty, so sharding does not passivate the
   *                  entity (its own timer messages do not count as activity: this must go through sharding)
   * @param table     where the queue is recovered from, and payloads and replayed webhooks read
   * @param writer    where every change is written (group commit)
   * @param metrics   queue depth, outcomes, write times and ingest-to-ACK times go here
   */
  public static Behavior<Command> create(String endpointId, WebhookSettings settings,
                                         Function<String, Optional<Endpoint>> endpoints,
                                         Function<String, CompletionStage<Boolean>> removeDefinition,
                                         DeliveryProtocol.Hubs hubs, Runnable keepAlive, WebhookTable table, WebhookWriter writer, Clock clock,
                                         WebhookMetrics metrics) {
    Behavior<Command> entity = Behaviors.withTimers(timers -> Behaviors.setup(context -> Behaviors.withStash(
        context.getSystem().settings().config().getInt("pekko.persistence.typed.stash-capacity"), stash -> {
          timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.sweepInterval());
          return new WebhookEndpoint(endpointId, settings, endpoints, removeDefinition, hubs, keepAlive, table, writer, clock, metrics,
              context, stash).recovering();
        })));
    // A failed read or write: start again (reading the queue back) once the database answers.
    // Logged by the entity in one line; the supervisor's own log would add a stack trace per attempt.
    return Behaviors.supervise(entity).onFailure(DatabaseFailure.class,
        PersistFailures.restartWithBackoff().withLoggingEnabled(false));
  }

  /**
   * Starts this node's part of the entity type (its shard region); call once per node before the first
   * message. Entities are passivated idle or over the active-entity limit (shardingSettings) with
   * {@link Passivate}, which stops them once their write in flight, if any, committed (it waits in the stash).
   *
   * @param keepAlive given an endpoint id, what keeps its entity from being passivated idle (a message
   *                  through sharding); run on every sweep while the queue is not empty
   */
  public static void init(ActorSystem<?> system, WebhookSettings settings,
                          Function<String, Optional<Endpoint>> endpoints,
                          Function<String, CompletionStage<Boolean>> removeDefinition, DeliveryProtocol.Hubs hubs,
                          Function<String, Runnable> keepAlive, WebhookTable table, WebhookWriter writer, Clock clock,
                          WebhookMetrics metrics, ClusterShardingSettings shardingSettings) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, entityContext -> {
          String id = entityContext.getEntityId();
          // Restarted in place on an unexpected exception (as the single-node keeper did): the messages
          // behind the one that failed stay in its mailbox; the queue is read back from the table.
          return Behaviors.supervise(create(id, settings, endpoints, removeDefinition, hubs, keepAlive.apply(id), table,
              writer, clock, metrics)).onFailure(Exception.class, SupervisorStrategy.restart());
        })
        .withStopMessage(Passivate.INSTANCE)
        .withSettings(shardingSettings));
  }

  /** A read or write of the webhooks table failed: the entity restarts from what the table holds. */
  static final class DatabaseFailure extends RuntimeException {
    DatabaseFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private Behavior<Command> recovering() {
    context.pipeToSelf(table.queued(endpointId), Recovered::new);
    return Behaviors.receive(Command.class)
        .onMessage(Recovered.class, recovered -> {
          if (recovered.failure() != null) {
            context.getLog().warn("endpoint {}: cannot read its queue, retrying: {}", endpointId,
                recovered.failure().toString());
            throw new DatabaseFailure("cannot read the queue of endpoint " + endpointId, recovered.failure());
          }
          state = new EndpointState(recovered.queue(), Map.of(), 0L);
          metrics.queueDepth(endpointId, state.queue().size());
          if (!state.queue().isEmpty()) {
            context.getLog().debug("endpoint {} recovered with {} queued webhooks", endpointId, state.queue().size());
          }
          dispatchHead();
          return stash.unstashAll(running());
        })
        .onMessage(Command.class, this::stashed)
        .build();
  }

  private Behavior<Command> running() {
    if (running == null) {
      running = buildRunning();
    }
    return running;
  }

  private Behavior<Command> buildRunning() {
    return Behaviors.receive(Command.class)
        .onMessage(Ingest.class, this::ingest)
        .onMessage(Flush.class, flush -> flush())
        .onMessage(PayloadLoaded.class, this::payloadLoaded)
        .onMessage(Ack.class, this::ack)
        .onMessage(Requeue.class, this::requeue)
        .onMessage(DeliveryProtocol.HubGone.class, this::hubGone)
        .onMessage(OfferResult.class, this::offerResult)
        .onMessage(Kick.class, kick -> {
          offerBlockedUntil = null;
          dispatchHead();
          return Behaviors.same();
        })
        .onMessage(Tick.class, tick -> {
          if (!state.queue().isEmpty()) {
            keepAlive.run();
          }
          return sweep();
        })
        .onMessage(Sweep.class, sweep -> sweep())
        .onMessage(Wake.class, wake -> sweep())
        .onMessage(Replay.class, this::replay)
        .onMessage(ReplayLoaded.class, this::replayLoaded)
        .onMessage(Delete.class, this::delete)
        .onMessage(DeleteDone.class, this::deleteDone)
        .onMessage(GetState.class, get -> {
          get.replyTo().tell(state);
          return Behaviors.same();
        })
        .onMessage(WrittenLater.class, this::writtenLater)
        .onMessage(Passivate.class, passivate -> Behaviors.stopped())
        .build();
  }

  /** While a write is in flight: everything else waits. */
  private Behavior<Command> writing(EndpointState next, Consumer<EndpointState> then, long started) {
    return Behaviors.receive(Command.class)
        .onMessage(Written.class, written -> {
          if (written.failure() != null) {
            context.getLog().warn("endpoint {}: write failed, restarting from the table: {}", endpointId,
                written.failure().toString());
            throw new DatabaseFailure("cannot write webhooks of endpoint " + endpointId, written.failure());
          }
          metrics.journalWritten(started);
          // Parked (failed, dead-lettered) webhooks live on in the table only; replay reads them back.
          state = next.parked().isEmpty() ? next : new EndpointState(next.queue(), Map.of(), next.seqNr());
          metrics.queueDepth(endpointId, state.queue().size());
          then.accept(state);
          return stash.unstashAll(running());
        })
        .onMessage(Command.class, this::stashed)
        .build();
  }

  private Behavior<Command> stashed(Command command) {
    if (stash.isFull()) {
      context.getLog().warn("endpoint {}: {} messages waiting for the database, dropping a {}", endpointId,
          stash.size(), command.getClass().getSimpleName());
    } else {
      stash.stash(command);
    }
    return Behaviors.same();
  }

  /**
   * Applies events to the queue and writes the rows they change (inserts for Received, with extra the
   * payloads); then, once committed, runs then with the new state. Returns the behaviour to continue with.
   */
  private Behavior<Command> persist(List<WebhookEvent> events, Consumer<EndpointState> then) {
    if (events.isEmpty()) {
      then.accept(state);
      return Behaviors.same();
    }
    EndpointState next = state;
    List<WebhookTable.Write> writes = new ArrayList<>(events.size());
    for (WebhookEvent event : events) {
      EndpointState before = next;
      next = EndpointState.apply(before, event);
      writes.add(write(before, next, event));
    }
    long started = System.nanoTime();
    context.pipeToSelf(afterWritesOfSameRows(writes, () -> writer.write(writes)),
        (done, failure) -> new Written(failure));
    return writing(next, then, started);
  }

  /**
   * Applies a status change nothing has to wait for (a hub took the webhook, or delivered it) at once and
   * writes its row with a later commit ({@link WebhookWriter#writeLater}): the entity goes on (the next
   * ingest, the next offer) meanwhile. Safe because losing such a write (crash, failed commit) only means
   * the webhook is offered again, which hubs de-duplicate; a failed one restarts the entity from the table.
   */
  private void persistLater(WebhookEvent event) {
    EndpointState next = EndpointState.apply(state, event);
    List<WebhookTable.Write> writes = List.of(write(state, next, event));
    state = next;
    metrics.queueDepth(endpointId, state.queue().size());
    // Not chained after an earlier status write of the same row: the writer commits these in order.
    CompletableFuture<Void> write = writer.writeLater(writes).toCompletableFuture();
    List<String> ids = writes.stream().map(WebhookTable.Write::webhookId).toList();
    ids.forEach(id -> writingLater.put(id, write));
    context.pipeToSelf(write, (done, failure) -> new WrittenLater(ids, write, failure));
  }

  /** Sends awaited writes once every uncommitted status write of the same rows committed (or failed). */
  private CompletionStage<Void> afterWritesOfSameRows(List<WebhookTable.Write> writes,
                                                      Supplier<CompletionStage<Void>> send) {
    if (writingLater.isEmpty()) {
      return send.get();
    }
    CompletableFuture<?>[] earlier = writes.stream().map(WebhookTable.Write::webhookId).map(writingLater::get)
        .filter(java.util.Objects::nonNull).distinct().toArray(CompletableFuture[]::new);
    if (earlier.length == 0) {
      return send.get();
    }
    return CompletableFuture.allOf(earlier).handle((done, failure) -> null).thenCompose(ignored -> send.get());
  }

  private Behavior<Command> writtenLater(WrittenLater written) {
    if (written.failure() != null) {
      context.getLog().warn("endpoint {}: status write failed, restarting from the table: {}", endpointId,
          written.failure().toString());
      throw new DatabaseFailure("cannot write webhooks of endpoint " + endpointId, written.failure());
    }
    written.webhookIds().forEach(id -> writingLater.remove(id, written.write()));
    return Behaviors.same();
  }

  /** The row change an event makes: an insert for a new webhook, else the webhook's state afterwards. */
  private WebhookTable.Write write(EndpointState before, EndpointState after, WebhookEvent event) {
    if (event instanceof WebhookEvent.Received received) {
      return new WebhookTable.Insert(endpointId, received);
    }
    String id = event.webhookId();
    Instant at = event.at();
    Optional<Webhook> now = after.queued(id).or(() -> Optional.ofNullable(after.parked().get(id)));
    Webhook state = now.orElseGet(() -> {
      // Delivered: it left the queue.
      Webhook was = before.queued(id).orElseThrow();
      int code = event instanceof WebhookEvent.Delivered d ? d.statusCode() : 0;
      return new Webhook(was.id(), was.seqNr(), was.receivedAt(), was.queuedAt(), was.verdict(),
          DeliveryStatus.DELIVERED, was.attempts(), null, code, null);
    });
    return new WebhookTable.Update(state, at, event instanceof WebhookEvent.Replayed);
  }

  private Behavior<Command> ingest(Ingest ingest) {
    Incoming w = ingest.webhook();
    if (w.receivedAt().plus(settings.ingestTimeout()).isBefore(clock.instant())) {
      // The sender already got 503 (e.g. this waited out a database outage): storing it now would only
      // produce a duplicate of the retry the sender is about to make.
      context.getLog().info("webhook dropped id={} endpoint={}: arrived after the ingest timeout, sender got 503",
          w.webhookId(), endpointId);
      return Behaviors.same();
    }
    if (deleting) {
      ingest.replyTo().tell(new Ingested(w.webhookId(), false));
      return Behaviors.same();
    }
    pendingIngests.add(ingest);
    if (!flushScheduled) {
      flushScheduled = true;
      context.getSelf().tell(Flush.INSTANCE);
    }
    return Behaviors.same();
  }

  private Behavior<Command> flush() {
    flushScheduled = false;
    if (pendingIngests.isEmpty()) {
      return Behaviors.same();
    }
    List<Ingest> batch = List.copyOf(pendingIngests);
    pendingIngests.clear();
    if (deleting || endpoints.apply(endpointId).isEmpty()) {
      // Lost the race with a deletion (the body was still arriving when the endpoint went): store nothing.
      batch.forEach(ingest -> refuseIngest(ingest, "endpoint deleted"));
      return Behaviors.same();
    }
    List<WebhookEvent> events = batch.stream().map(Ingest::webhook)
        .<WebhookEvent>map(w -> new WebhookEvent.Received(w.webhookId(), w.receivedAt(), w.headers(), w.body(),
            w.verdict(), w.query(), true))
        .toList();
    return persist(events, s -> {
      for (Ingest ingest : batch) {
        Incoming w = ingest.webhook();
        context.getLog().info("webhook received id={} endpoint={} bytes={} signature={} queued={}", w.webhookId(),
            endpointId, w.body().length, w.verdict().name().toLowerCase(Locale.ROOT), s.queue().size());
        // Only now, with the row committed, does the sender get its 2xx.
        ingest.replyTo().tell(new Ingested(w.webhookId(), true));
      }
      // Kept in memory (as far as they fit), so reaching the head of the queue needs no database read.
      events.forEach(e -> held.hold((WebhookEvent.Received) e));
      dispatchHead();
    });
  }

  private Behavior<Command> ack(Ack ack) {
    Optional<Webhook> queued = state.queued(ack.webhookId());
    if (queued.isEmpty()) {
      context.getLog().debug("ack for webhook {} of endpoint {} ignored: not queued", ack.webhookId(), endpointId);
      return Behaviors.same();
    }
    if (inFlight != null && ack.webhookId().equals(inFlight.webhookId())) {
      inFlight = null;
    }
    Webhook w = queued.get();
    Instant now = clock.instant();
    WebhookEvent event = EndpointState.verdict(w, ack, settings::backoff, now);
    if (event instanceof WebhookEvent.Delivered) {
      // Nothing waits for this row: the next webhook goes out (and ingests go on) while it is written.
      persistLater(event);
      releaseGone(List.of(event));
      metrics.delivered(Duration.between(w.queuedAt(), now));
      context.getLog().info("webhook delivered id={} endpoint={} attempts={} status={}", w.id(), endpointId,
          w.attempts(), ack.statusCode());
      dispatchHead();
      return Behaviors.same();
    }
    return persist(List.of(event), s -> {
      releaseGone(List.of(event));
      if (event instanceof WebhookEvent.Failed) {
        metrics.failed(1);
        context.getLog().info("webhook failed id={} endpoint={} attempts={} status={} error={}", w.id(), endpointId,
            w.attempts(), ack.statusCode(), ack.error());
        dispatchHead();
      } else if (event instanceof WebhookEvent.RetryScheduled retry) {
        context.getLog().debug("webhook retry scheduled id={} endpoint={} attempt={} next={} status={}", w.id(),
            endpointId, retry.attempt(), retry.nextRetryAt(), ack.statusCode());
      }
    });
  }

  private Behavior<Command> requeue(Requeue requeue) {
    if (inFlight != null && requeue.webhookId().equals(inFlight.webhookId())) {
      inFlight = null;
    }
    Optional<Webhook> queued = state.queued(requeue.webhookId());
    if (queued.isEmpty() || queued.get().status() != DeliveryStatus.DISPATCHED) {
      dispatchHead();
      return Behaviors.same();
    }
    return persist(List.of(new WebhookEvent.Requeued(requeue.webhookId(), clock.instant())), s -> dispatchHead());
  }

  /** Its node crashed: what the connection accepted will never be acknowledged nor handed back. */
  private Behavior<Command> hubGone(DeliveryProtocol.HubGone gone) {
    if (inFlight == null || !inFlight.accepted() || !gone.connection().equals(inFlightConnection)) {
      return Behaviors.same();
    }
    context.getLog().info("webhook held by a hub connection on a node that left id={} endpoint={}: offering again",
        inFlight.webhookId(), endpointId);
    return requeue(new Requeue(inFlight.webhookId()));
  }

  private Behavior<Command> offerResult(OfferResult result) {
    if (inFlight == null || !result.webhookId().equals(inFlight.webhookId())) {
      return Behaviors.same();
    }
    if (result.outcome() == Outcome.ACCEPTED) {
      if (inFlight.accepted()) {
        return Behaviors.same(); // the answer to a repeated offer of what the connection already holds
      }
      inFlight = inFlight.acceptedAt(clock.instant());
      inFlightConnection = result.connection();
      // The hub's ACK, the next ingest and this row's write need not wait for one another.
      persistLater(new WebhookEvent.Dispatched(result.webhookId(), result.attempt(), clock.instant()));
      context.getLog().debug("webhook dispatched id={} endpoint={} attempt={}", result.webhookId(), endpointId,
          result.attempt());
      return Behaviors.same();
    }
    inFlight = null;
    offerBlockedUntil = clock.instant().plus(settings.offerRetryInterval());
    return Behaviors.same();
  }

  private Behavior<Command> sweep() {
    Instant now = clock.instant();
    if (!deleting && !state.queue().isEmpty() && definitionGone(now)) {
      // Queued for an endpoint deleted without this entity (by an older version): nothing can deliver
      // them, and ids are never reused, so they end now rather than wait to be dead-lettered.
      inFlight = null;
      List<WebhookEvent> failed = EndpointState.failAll(state, ENDPOINT_DELETED, now);
      return persist(failed, s -> {
        releaseGone(failed);
        metrics.failed(failed.size());
        failed.forEach(e -> context.getLog().info("webhook failed id={} endpoint={} error={}", e.webhookId(),
            endpointId, ENDPOINT_DELETED));
      });
    }
    InFlight before = inFlight;
    EndpointState.Sweep sweep = EndpointState.sweep(state, inFlight, now, settings.offerRetryInterval(),
        settings.ackTimeout(), settings.deadLetterAfter());
    inFlight = sweep.inFlight();
    if (before != null && inFlight == null) {
      if (sweep.events().stream().anyMatch(e -> e instanceof WebhookEvent.Requeued)) {
        context.getLog().info("webhook not acknowledged within {} id={} endpoint={}: offering again",
            Durations.text(settings.ackTimeout()), before.webhookId(), endpointId);
      } else {
        context.getLog().debug("offer of webhook {} unanswered: offering again", before.webhookId());
      }
    }
    if (sweep.events().isEmpty()) {
      dispatchHead();
      return Behaviors.same();
    }
    return persist(sweep.events(), s -> {
      releaseGone(sweep.events());
      List<WebhookEvent> deadLettered = sweep.events().stream()
          .filter(e -> e instanceof WebhookEvent.DeadLettered).toList();
      metrics.deadLettered(deadLettered.size());
      deadLettered.forEach(e ->
          context.getLog().info("webhook dead-lettered id={} endpoint={}", e.webhookId(), endpointId));
      dispatchHead();
    });
  }

  private void refuseIngest(Ingest ingest, String reason) {
    context.getLog().info("webhook refused id={} endpoint={} reason={}", ingest.webhook().webhookId(), endpointId,
        reason);
    ingest.replyTo().tell(new Ingested(ingest.webhook().webhookId(), false));
  }

  /**
   * This endpoint is gone for good: this node's copy of the definitions has lacked it for two of its
   * refresh intervals. A copy may lag the table (an endpoint created on another node whose announcement
   * was lost, read here at the next refresh), and this entity may have just moved here from another
   * node: failing its webhooks as "endpoint deleted" at the first miss failed webhooks already answered 2xx.
   */
  private boolean definitionGone(Instant now) {
    if (endpoints.apply(endpointId).isPresent()) {
      definitionMissingSince = null;
      return false;
    }
    if (definitionMissingSince == null) {
      definitionMissingSince = now;
    }
    return !now.isBefore(definitionMissingSince.plus(settings.endpointRefreshInterval().multipliedBy(2)));
  }

  private Behavior<Command> delete(Delete delete) {
    if (deleting) {
      delete.replyTo().tell(DeleteRefused.IN_PROGRESS);
      return Behaviors.same();
    }
    if (endpoints.apply(endpointId).isEmpty()) {
      delete.replyTo().tell(DeleteRefused.NOT_FOUND);
      return Behaviors.same();
    }
    int queued = state.queue().size() + pendingIngests.size();
    if (queued > 0 && !delete.force()) {
      delete.replyTo().tell(new StillQueued(queued));
      return Behaviors.same();
    }
    deleting = true;
    List<Ingest> pending = List.copyOf(pendingIngests);
    pendingIngests.clear();
    pending.forEach(ingest -> refuseIngest(ingest, "endpoint deleted"));
    Instant now = clock.instant();
    List<WebhookEvent> failed = EndpointState.failAll(state, ENDPOINT_DELETED, now);
    inFlight = null;
    return persist(failed, s -> {
      releaseGone(failed);
      metrics.failed(failed.size());
      failed.forEach(e -> context.getLog().info("webhook failed id={} endpoint={} error={}", e.webhookId(),
          endpointId, ENDPOINT_DELETED));
      context.pipeToSelf(removeDefinition.apply(endpointId),
          (existed, failure) -> new DeleteDone(delete.replyTo(), failed.size(), existed, failure));
    });
  }

  private Behavior<Command> deleteDone(DeleteDone done) {
    deleting = false;
    if (done.failure() != null) {
      done.replyTo().tell(new DeleteFailed(done.failure().toString()));
    } else {
      done.replyTo().tell(Boolean.TRUE.equals(done.existed()) ? new Deleted(done.failed()) : DeleteRefused.NOT_FOUND);
    }
    return Behaviors.same();
  }

  private Behavior<Command> replay(Replay replay) {
    if (state.queued(replay.webhookId()).isPresent()) {
      replay.replyTo().tell(ReplayResult.NOT_REPLAYABLE);
      return Behaviors.same();
    }
    // Failed and dead-lettered webhooks are not held in memory: their row says what they are.
    context.pipeToSelf(table.get(replay.webhookId()), (row, failure) -> new ReplayLoaded(replay, row, failure));
    return Behaviors.same();
  }

  private Behavior<Command> replayLoaded(ReplayLoaded loaded) {
    Replay replay = loaded.replay();
    if (loaded.failure() != null) {
      throw new DatabaseFailure("cannot read webhook " + replay.webhookId(), loaded.failure());
    }
    Optional<WebhookTable.Row> row = loaded.row().filter(r -> r.endpointId().equals(endpointId));
    if (state.queued(replay.webhookId()).isPresent()) {
      replay.replyTo().tell(ReplayResult.NOT_REPLAYABLE); // replayed meanwhile
      return Behaviors.same();
    }
    Optional<DeliveryStatus> status = row.flatMap(r -> DeliveryStatus.fromWireName(r.status()));
    if (status.isEmpty() || (status.get() != DeliveryStatus.FAILED && status.get() != DeliveryStatus.DEAD_LETTERED)) {
      replay.replyTo().tell(ReplayResult.NOT_FOUND);
      return Behaviors.same();
    }
    if (endpoints.apply(endpointId).isEmpty()) {
      replay.replyTo().tell(ReplayResult.ENDPOINT_DELETED);
      return Behaviors.same();
    }
    WebhookTable.Row r = row.get();
    Webhook parked = new Webhook(r.id(), r.seq(), r.receivedAt(), r.receivedAt(), WebhookTable.verdict(r.verdict()),
        status.get(), r.attempts(), null, r.lastStatusCode(), r.lastError());
    state = new EndpointState(state.queue(), Map.of(parked.id(), parked), state.seqNr());
    return persist(List.of(new WebhookEvent.Replayed(replay.webhookId(), clock.instant())), s -> {
      context.getLog().info("webhook replayed id={} endpoint={}", replay.webhookId(), endpointId);
      replay.replyTo().tell(ReplayResult.REPLAYED);
      dispatchHead();
    });
  }

  /** Forgets the held payloads of webhooks these events took out of the queue. */
  private void releaseGone(List<WebhookEvent> events) {
    for (WebhookEvent e : events) {
      if (e instanceof WebhookEvent.Delivered || e instanceof WebhookEvent.Failed
          || e instanceof WebhookEvent.DeadLettered) {
        held.release(e.webhookId());
      }
    }
  }

  /** Offers the head of the queue to the hub when nothing is in flight and the head is due. */
  private void dispatchHead() {
    Instant now = clock.instant();
    Optional<Webhook> due = EndpointState.offerable(state, inFlight, offerBlockedUntil, now);
    Optional<Endpoint> endpoint = endpoints.apply(endpointId);
    if (due.isEmpty() || endpoint.isEmpty() || deleting) {
      return; // a deleted endpoint: the next sweep fails what is queued
    }
    Webhook head = due.get();
    inFlight = InFlight.offered(head.id(), now);
    long dispatch = ++dispatches;
    Optional<WebhookEvent.Received> inMemory = held.get(head.id());
    if (inMemory.isPresent()) {
      offer(head, inMemory.get(), endpoint.get());
    } else if (headPayload != null && headPayload.webhookId().equals(head.id())) {
      offer(head, headPayload, endpoint.get());
    } else {
      context.pipeToSelf(table.payload(head.id()),
          (payload, failure) -> new PayloadLoaded(dispatch, head.id(), payload, failure));
    }
  }

  private void offer(Webhook head, WebhookEvent.Received payload, Endpoint endpoint) {
    // The wait for an answer starts now, not when the payload read began.
    inFlight = InFlight.offered(head.id(), clock.instant());
    int attempt = head.attempts() + 1;
    hubs.offer(new DeliveryProtocol.Offer(endpoint.hubId(), endpointId, payload.webhookId(),
        endpoint.destinationUrl(), payload.receivedAt(), payload.headerByteStrings(), payload.body(), payload.query(),
        attempt));
  }

  private Behavior<Command> payloadLoaded(PayloadLoaded loaded) {
    if (loaded.dispatch() != dispatches || inFlight == null || !loaded.webhookId().equals(inFlight.webhookId())) {
      return Behaviors.same();
    }
    Optional<Webhook> head = state.queued(loaded.webhookId());
    Optional<Endpoint> endpoint = endpoints.apply(endpointId);
    if (loaded.failure() != null || loaded.payload().isEmpty() || head.isEmpty() || endpoint.isEmpty()) {
      if (loaded.failure() != null || loaded.payload().isEmpty()) {
        context.getLog().warn("cannot read webhook {} of endpoint {} from the database: {}", loaded.webhookId(),
            endpointId, loaded.failure() == null ? "no such row" : loaded.failure().toString());
      }
      inFlight = null;
      offerBlockedUntil = clock.instant().plus(settings.offerRetryInterval());
      return Behaviors.same();
    }
    headPayload = loaded.payload().get();
    offer(head.get(), headPayload, endpoint.get());
    return Behaviors.same();
  }
}
