package dev.conduit.webhook;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.conduit.hub.HubRegistry;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.persistence.JsonSerializable;
import dev.conduit.persistence.PersistFailures;
import dev.conduit.webhook.signature.Verdict;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One endpoint's delivery queue, event-sourced: every webhook received for the endpoint and its
 * delivery state (received, dispatched, retrying, delivered, failed, dead_lettered).
 *
 * <p>Order: only the head of the queue is ever in flight; webhook n+1 is offered only once webhook n
 * is delivered, failed or dead-lettered. Which webhook is in flight right now (offered to a hub
 * connection, not yet acknowledged) is transient: after a restart nothing is in flight and the head
 * is offered again (hubs de-duplicate by id).
 */
public final class WebhookEndpoint
    extends EventSourcedBehavior<WebhookEndpoint.Command, WebhookEndpoint.Event, WebhookEndpoint.State> {

  public static final String TAG = "webhook";
  public static final String ENTITY_TYPE = "WebhookEndpoint";

  // ---------------------------------------------------------------- commands

  public sealed interface Command {}

  /** Journal a new webhook; the reply comes only after the event is stored. */
  public record Ingest(Incoming webhook, ActorRef<Ingested> replyTo) implements Command {}

  /** stored: false when the endpoint was deleted (or is being deleted) first; nothing was stored then. */
  public record Ingested(String webhookId, boolean stored) {}

  /** The hub's verdict on a webhook (routed here by the hub connection that sent it). */
  public record Ack(String webhookId, boolean success, int statusCode, String error, boolean permanentFailure)
      implements Command {}

  /** The hub connection that held this webhook went away unacknowledged: offer it again. */
  public record Requeue(String webhookId) implements Command {}

  /** The hub registry's / connection's answer to an offer. */
  public record OfferResult(String webhookId, int attempt, Outcome outcome) implements Command {}

  public enum Outcome { ACCEPTED, BUSY, NO_HUB }

  /** The hub connected or has room again: offer now, do not wait for the retry interval. */
  public enum Kick implements Command { INSTANCE }

  /** Due retries and dead letters: sent by the entity's own sweep timer (and by tests). */
  public enum Sweep implements Command { INSTANCE }

  /** Start (recover) and stay alive while there is work; sent at start-up to every endpoint. */
  public enum Wake implements Command { INSTANCE }

  public record Replay(String webhookId, ActorRef<ReplayResult> replyTo) implements Command {}

  public enum ReplayResult { REPLAYED, NOT_FOUND, NOT_REPLAYABLE, ENDPOINT_DELETED }

  public record GetState(ActorRef<State> replyTo) implements Command {}

  /**
   * Deletes the endpoint's definition through this entity, so that deletion and ingest are ordered:
   * without force, refused while anything is queued or being stored; with force, every queued webhook is
   * first marked failed ("endpoint deleted", replayable only if the endpoint comes back, which it cannot).
   * Ingests that arrive once the deletion started store nothing and answer {@code stored = false}.
   *
   * @param remove deletes the definition (table and cache); true when it existed
   */
  public record Delete(boolean force, Supplier<CompletionStage<Boolean>> remove, ActorRef<DeleteResult> replyTo)
      implements Command {}

  public sealed interface DeleteResult {}

  /** failed: queued webhooks marked failed by a forced delete. */
  public record Deleted(int failed) implements DeleteResult {}

  /** Not deleted: queued webhooks (or ingests being stored) and no force. */
  public record StillQueued(int queued) implements DeleteResult {}

  public enum DeleteRefused implements DeleteResult { NOT_FOUND, IN_PROGRESS }

  /** The definition could not be deleted (database); webhooks a forced delete failed stay failed (replayable). */
  public record DeleteFailed(Throwable cause) implements DeleteResult {}

  /** Error recorded on webhooks failed because their endpoint was deleted. */
  public static final String ENDPOINT_DELETED = "endpoint deleted";

  public enum Passivate implements Command { INSTANCE }

  // ---------------------------------------------------------------- events

  public sealed interface Event extends JsonSerializable {
    String webhookId();
  }

  /**
   * headers: lower-cased names to values; byte strings ({@link HeaderBytes}) when headerBytes is true,
   * text (as pekko-http decoded it) in events stored before that, where headerBytes is absent (null).
   * query: the ingest URL's raw query string (without "?"), null when there was none (and in older events).
   */
  public record Received(String webhookId, Instant receivedAt, Map<String, String> headers, byte[] body,
                         Verdict verdict, String query, Boolean headerBytes) implements Event {

    /** The header values as byte strings, whichever way they were stored. */
    public Map<String, String> headerByteStrings() {
      if (Boolean.TRUE.equals(headerBytes)) {
        return headers;
      }
      Map<String, String> converted = new LinkedHashMap<>();
      headers.forEach((name, value) -> converted.put(name, HeaderBytes.fromText(value)));
      return converted;
    }
  }

  public record Dispatched(String webhookId, int attempt, Instant at) implements Event {}

  public record Delivered(String webhookId, int statusCode, Instant at) implements Event {}

  public record RetryScheduled(String webhookId, int attempt, Instant nextRetryAt, int statusCode, String error,
                               Instant at) implements Event {}

  public record Failed(String webhookId, int statusCode, String error, Instant at) implements Event {}

  public record DeadLettered(String webhookId, Instant at) implements Event {}

  public record Requeued(String webhookId, Instant at) implements Event {}

  public record Replayed(String webhookId, Instant at) implements Event {}

  // ---------------------------------------------------------------- state

  /** Wire names are the lower-case constant names. */
  public enum Status {
    RECEIVED, DISPATCHED, RETRYING, DELIVERED, FAILED, DEAD_LETTERED;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Status> fromWireName(String name) {
      for (Status s : values()) {
        if (s.wireName().equals(name)) {
          return Optional.of(s);
        }
      }
      return Optional.empty();
    }
  }

  /** What ingest hands to the entity; headers as byte strings, query raw or null (see {@link Received}). */
  public record Incoming(String webhookId, Instant receivedAt, Map<String, String> headers, byte[] body,
                         Verdict verdict, String query) {}

  /**
   * One webhook's delivery metadata. seqNr locates its Received event (headers and payload) in the
   * journal; queuedAt starts the dead-letter clock (receipt, or the last replay); attempts counts
   * dispatches; nextRetryAt is null when due at once.
   */
  public record Webhook(String id, long seqNr, Instant receivedAt, Instant queuedAt, Verdict verdict, Status status,
                        int attempts, Instant nextRetryAt, Integer lastStatusCode, String lastError) {

    Webhook with(Status newStatus, int newAttempts, Instant newNextRetryAt, Integer statusCode, String error) {
      return new Webhook(id, seqNr, receivedAt, queuedAt, verdict, newStatus, newAttempts, newNextRetryAt,
          statusCode, error);
    }
  }

  /**
   * queue: webhooks still to deliver, in order; parked: failed and dead-lettered ones (kept for replay).
   * Delivered webhooks leave the state (their record lives on in the journal and the read table).
   * seqNr is the sequence number of the last event applied (every event counts one).
   * Immutable: every event makes a new State (snapshots are serialized asynchronously). The queue is a
   * {@link WebhookQueue}, so the usual events (append, change or remove the head) do not copy it: a
   * copy per event made draining a backlog of n webhooks cost O(n^2).
   */
  public record State(List<Webhook> queue, Map<String, Webhook> parked, long seqNr) implements JsonSerializable {
    public State {
      queue = queue == null ? WebhookQueue.EMPTY : WebhookQueue.of(queue);
      parked = parked == null ? Map.of() : Map.copyOf(parked);
    }

    State withSeqNr(long next) {
      return new State(queue, parked, next);
    }

    public Optional<Webhook> queued(String id) {
      int index = q().positionOf(id);
      return index < 0 ? Optional.empty() : Optional.of(queue.get(index));
    }

    public Optional<Webhook> head() {
      return queue.isEmpty() ? Optional.empty() : Optional.of(queue.get(0));
    }

    private WebhookQueue q() {
      return (WebhookQueue) queue;
    }

    State append(Webhook webhook) {
      return new State(q().append(webhook), parked, seqNr);
    }

    State replace(String id, Function<Webhook, Webhook> change) {
      int index = q().positionOf(id);
      return index < 0 ? this : new State(q().with(index, change), parked, seqNr);
    }

    State remove(String id, Webhook parkAs) {
      int index = q().positionOf(id);
      WebhookQueue next = index < 0 ? q() : q().without(index);
      Map<String, Webhook> nextParked = parked;
      if (parkAs != null) {
        nextParked = new LinkedHashMap<>(parked);
        nextParked.put(id, parkAs);
      }
      return new State(next, nextParked, seqNr);
    }
  }

  // ---------------------------------------------------------------- behavior

  private final String endpointId;
  private final WebhookSettings settings;
  private final Function<String, Optional<Endpoint>> endpoints;
  private final ActorRef<HubRegistry.Command> hubs;
  private final Runnable keepAlive;
  private final PayloadLoader payloads;
  private final Clock clock;
  private final WebhookMetrics metrics;
  private final ActorContext<Command> context;

  /** The webhook offered to or held by a hub connection right now (transient). */
  private String inFlight;
  /** Whether the hub connection took inFlight, and since when it was offered / taken. */
  private boolean inFlightAccepted;
  private Instant inFlightSince;
  /** After BUSY / NO_HUB: no new offer before this instant unless kicked (transient). */
  private Instant offerBlockedUntil;

  private enum Tick implements Command { INSTANCE }

  /** dispatch: which dispatchHead asked for it (a slow read from an abandoned dispatch is ignored). */
  private record PayloadLoaded(long dispatch, String webhookId, Received payload, Throwable failure)
      implements Command {}

  /** Counts dispatchHead calls that started a dispatch (transient). */
  private long dispatches;

  /** The head's Received event, once read from the journal (transient; reused for its retries). */
  private Received headPayload;

  /** A deletion of the endpoint is under way: ingests are answered "not stored" (transient). */
  private boolean deleting;

  private record DeleteDone(ActorRef<DeleteResult> replyTo, int failed, Boolean existed, Throwable failure)
      implements Command {}

  /** Journal the ingests collected since the last flush, in one write. */
  private enum Flush implements Command { INSTANCE }

  /**
   * Ingests waiting for the next Flush (transient). While a write is in progress pekko stashes new
   * commands; when it completes they are all taken in here before the Flush sent after the first of
   * them, so a burst for one endpoint becomes one persistAll instead of one round trip per webhook.
   */
  private final List<Ingest> pendingIngests = new ArrayList<>();
  private boolean flushScheduled;

  private WebhookEndpoint(String endpointId, WebhookSettings settings, Function<String, Optional<Endpoint>> endpoints,
                          ActorRef<HubRegistry.Command> hubs, Runnable keepAlive, PayloadLoader payloads,
                          Clock clock, WebhookMetrics metrics, ActorContext<Command> context) {
    super(persistenceId(endpointId), PersistFailures.restartWithBackoff());
    this.endpointId = endpointId;
    this.settings = settings;
    this.endpoints = endpoints;
    this.hubs = hubs;
    this.keepAlive = keepAlive;
    this.payloads = payloads;
    this.clock = clock;
    this.metrics = metrics;
    this.context = context;
  }

  public static PersistenceId persistenceId(String endpointId) {
    return PersistenceId.of(ENTITY_TYPE, endpointId);
  }

  /** The endpoint id inside a persistence id made by {@link #persistenceId}. */
  public static String endpointIdOf(String persistenceId) {
    return persistenceId.substring(ENTITY_TYPE.length() + 1);
  }

  /**
   * @param endpoints looks up the endpoint's current definition (destination, hub) at dispatch time
   * @param hubs      where offers go (routed to the hub's live connection)
   * @param keepAlive called on every sweep while the queue is not empty, so the keeper does not passivate the entity
   * @param payloads  reads a webhook's Received event back from the journal when it is to be dispatched
   * @param metrics   queue depth, outcomes, journal write times and ingest-to-ACK times go here
   */
  public static Behavior<Command> create(String endpointId, WebhookSettings settings,
                                         Function<String, Optional<Endpoint>> endpoints,
                                         ActorRef<HubRegistry.Command> hubs, Runnable keepAlive,
                                         PayloadLoader payloads, Clock clock, WebhookMetrics metrics) {
    return Behaviors.withTimers(timers -> Behaviors.setup(context -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.sweepInterval());
      return new WebhookEndpoint(endpointId, settings, endpoints, hubs, keepAlive, payloads, clock, metrics,
          context);
    }));
  }

  @Override
  public State emptyState() {
    return new State(WebhookQueue.EMPTY, Map.of(), 0L);
  }

  /**
   * Snapshots every snapshot-every events, keeping two. Events are never deleted: a queued webhook's
   * payload is read back from its Received event (see {@link PayloadLoader}).
   */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          metrics.queueDepth(endpointId, state.queue().size());
          if (!state.queue().isEmpty()) {
            context.getLog().debug("endpoint {} recovered with {} queued webhooks", endpointId, state.queue().size());
          }
          dispatchHead(state);
        })
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Ingest.class, this::ingest)
        .onCommand(Flush.class, this::flush)
        .onCommand(PayloadLoaded.class, this::payloadLoaded)
        .onCommand(Ack.class, this::ack)
        .onCommand(Requeue.class, this::requeue)
        .onCommand(OfferResult.class, this::offerResult)
        .onCommand(Kick.class, (state, kick) -> {
          offerBlockedUntil = null;
          return Effect().none().thenRun(this::dispatchHead);
        })
        .onCommand(Tick.class, (state, tick) -> {
          if (!state.queue().isEmpty()) {
            keepAlive.run();
          }
          return sweep(state);
        })
        .onCommand(Sweep.class, (state, sweep) -> sweep(state))
        .onCommand(Wake.class, (state, wake) -> sweep(state))
        .onCommand(Replay.class, this::replay)
        .onCommand(Delete.class, this::delete)
        .onCommand(DeleteDone.class, this::deleteDone)
        .onCommand(GetState.class, (state, get) -> Effect().reply(get.replyTo(), state))
        .onCommand(Passivate.class, (state, passivate) -> Effect().stop())
        .build();
  }

  private Effect<Event, State> ingest(State state, Ingest ingest) {
    Incoming w = ingest.webhook();
    if (w.receivedAt().plus(settings.ingestTimeout()).isBefore(clock.instant())) {
      // The sender already got 503 (e.g. this waited out a journal outage): storing it now would only
      // produce a duplicate of the retry the sender is about to make.
      context.getLog().info("webhook dropped id={} endpoint={}: arrived after the ingest timeout, sender got 503",
          w.webhookId(), endpointId);
      return Effect().none();
    }
    if (deleting) {
      ingest.replyTo().tell(new Ingested(w.webhookId(), false));
      return Effect().none();
    }
    pendingIngests.add(ingest);
    if (!flushScheduled) {
      flushScheduled = true;
      context.getSelf().tell(Flush.INSTANCE);
    }
    return Effect().none();
  }

  private Effect<Event, State> flush(State state, Flush flush) {
    flushScheduled = false;
    if (pendingIngests.isEmpty()) {
      return Effect().none();
    }
    List<Ingest> batch = List.copyOf(pendingIngests);
    pendingIngests.clear();
    if (deleting || endpoints.apply(endpointId).isEmpty()) {
      // Lost the race with a deletion (the body was still arriving when the endpoint went): store nothing.
      batch.forEach(ingest -> refuseIngest(ingest, "endpoint deleted"));
      return Effect().none();
    }
    List<Event> events = batch.stream().map(Ingest::webhook)
        .<Event>map(w -> new Received(w.webhookId(), w.receivedAt(), w.headers(), w.body(), w.verdict(),
            w.query(), true))
        .toList();
    long writeStarted = System.nanoTime();
    return Effect().persist(events).thenRun(s -> {
      metrics.journalWritten(writeStarted);
      for (Ingest ingest : batch) {
        Incoming w = ingest.webhook();
        context.getLog().info("webhook received id={} endpoint={} bytes={} signature={} queued={}", w.webhookId(),
            endpointId, w.body().length, w.verdict().name().toLowerCase(Locale.ROOT), s.queue().size());
        // Only now, with the event stored, does the sender get its 2xx.
        ingest.replyTo().tell(new Ingested(w.webhookId(), true));
      }
      dispatchHead(s);
    });
  }

  private Effect<Event, State> ack(State state, Ack ack) {
    Optional<Webhook> queued = state.queued(ack.webhookId());
    if (queued.isEmpty()) {
      context.getLog().debug("ack for webhook {} of endpoint {} ignored: not queued", ack.webhookId(), endpointId);
      return Effect().none();
    }
    if (ack.webhookId().equals(inFlight)) {
      inFlight = null;
    }
    Webhook w = queued.get();
    Instant now = clock.instant();
    long writeStarted = System.nanoTime();
    if (ack.success()) {
      return Effect().persist(new Delivered(w.id(), ack.statusCode(), now)).thenRun(s -> {
        metrics.journalWritten(writeStarted);
        metrics.delivered(Duration.between(w.queuedAt(), now));
        context.getLog().info("webhook delivered id={} endpoint={} attempts={} status={}", w.id(), endpointId,
            w.attempts(), ack.statusCode());
        dispatchHead(s);
      });
    }
    if (ack.permanentFailure()) {
      return Effect().persist(new Failed(w.id(), ack.statusCode(), ack.error(), now)).thenRun(s -> {
        metrics.journalWritten(writeStarted);
        metrics.failed(1);
        context.getLog().info("webhook failed id={} endpoint={} attempts={} status={} error={}", w.id(), endpointId,
            w.attempts(), ack.statusCode(), ack.error());
        dispatchHead(s);
      });
    }
    int attempts = Math.max(1, w.attempts());
    Instant next = now.plus(settings.backoff(attempts));
    return Effect().persist(new RetryScheduled(w.id(), attempts, next, ack.statusCode(), ack.error(), now))
        .thenRun(s -> context.getLog().debug("webhook retry scheduled id={} endpoint={} attempt={} next={} status={}",
            w.id(), endpointId, attempts, next, ack.statusCode()));
  }

  private Effect<Event, State> requeue(State state, Requeue requeue) {
    if (requeue.webhookId().equals(inFlight)) {
      inFlight = null;
    }
    Optional<Webhook> queued = state.queued(requeue.webhookId());
    if (queued.isEmpty() || queued.get().status() != Status.DISPATCHED) {
      return Effect().none().thenRun(this::dispatchHead);
    }
    return Effect().persist(new Requeued(requeue.webhookId(), clock.instant())).thenRun(this::dispatchHead);
  }

  private Effect<Event, State> offerResult(State state, OfferResult result) {
    if (!result.webhookId().equals(inFlight)) {
      return Effect().none();
    }
    if (result.outcome() == Outcome.ACCEPTED) {
      if (inFlightAccepted) {
        return Effect().none(); // the answer to a repeated offer of what the connection already holds
      }
      inFlightAccepted = true;
      inFlightSince = clock.instant();
      return Effect().persist(new Dispatched(result.webhookId(), result.attempt(), clock.instant()))
          .thenRun(s -> context.getLog().debug("webhook dispatched id={} endpoint={} attempt={}", result.webhookId(),
              endpointId, result.attempt()));
    }
    inFlight = null;
    offerBlockedUntil = clock.instant().plus(settings.offerRetryInterval());
    return Effect().none();
  }

  private Effect<Event, State> sweep(State state) {
    Instant now = clock.instant();
    List<Event> events = new ArrayList<>();
    if (!deleting && !state.queue().isEmpty() && endpoints.apply(endpointId).isEmpty()) {
      // Queued for an endpoint deleted without this entity (by an older version): nothing can deliver
      // them, and ids are never reused, so they end now rather than wait to be dead-lettered.
      inFlight = null;
      state.queue().forEach(w -> events.add(new Failed(w.id(), 0, ENDPOINT_DELETED, now)));
      return Effect().persist(events).thenRun(s -> {
        metrics.failed(events.size());
        events.forEach(e -> context.getLog().info("webhook failed id={} endpoint={} error={}", e.webhookId(),
            endpointId, ENDPOINT_DELETED));
      });
    }
    if (inFlight != null) {
      if (state.queued(inFlight).isEmpty()) {
        inFlight = null;
      } else if (!inFlightAccepted && !inFlightSince.plus(settings.offerRetryInterval()).isAfter(now)) {
        // The offer got no answer (the connection it was routed to had just stopped): offer again.
        context.getLog().debug("offer of webhook {} unanswered: offering again", inFlight);
        inFlight = null;
      } else if (inFlightAccepted && !inFlightSince.plus(settings.ackTimeout()).isAfter(now)) {
        String stuck = inFlight;
        inFlight = null;
        context.getLog().info("webhook not acknowledged within {}s id={} endpoint={}: offering again",
            settings.ackTimeout().toSeconds(), stuck, endpointId);
        events.add(new Requeued(stuck, now));
      }
    }
    for (Webhook w : state.queue()) {
      if (!w.id().equals(inFlight) && !w.queuedAt().plus(settings.deadLetterAfter()).isAfter(now)) {
        events.add(new DeadLettered(w.id(), now));
      }
    }
    if (events.isEmpty()) {
      return Effect().none().thenRun(this::dispatchHead);
    }
    return Effect().persist(events).thenRun(s -> {
      List<Event> deadLettered = events.stream().filter(e -> e instanceof DeadLettered).toList();
      metrics.deadLettered(deadLettered.size());
      deadLettered.forEach(e ->
          context.getLog().info("webhook dead-lettered id={} endpoint={}", e.webhookId(), endpointId));
      dispatchHead(s);
    });
  }

  private void refuseIngest(Ingest ingest, String reason) {
    context.getLog().info("webhook refused id={} endpoint={} reason={}", ingest.webhook().webhookId(), endpointId,
        reason);
    ingest.replyTo().tell(new Ingested(ingest.webhook().webhookId(), false));
  }

  private Effect<Event, State> delete(State state, Delete delete) {
    if (deleting) {
      return Effect().reply(delete.replyTo(), DeleteRefused.IN_PROGRESS);
    }
    if (endpoints.apply(endpointId).isEmpty()) {
      return Effect().reply(delete.replyTo(), DeleteRefused.NOT_FOUND);
    }
    int queued = state.queue().size() + pendingIngests.size();
    if (queued > 0 && !delete.force()) {
      return Effect().reply(delete.replyTo(), new StillQueued(queued));
    }
    deleting = true;
    List<Ingest> pending = List.copyOf(pendingIngests);
    pendingIngests.clear();
    pending.forEach(ingest -> refuseIngest(ingest, "endpoint deleted"));
    Instant now = clock.instant();
    List<Event> failed = state.queue().stream()
        .<Event>map(w -> new Failed(w.id(), 0, ENDPOINT_DELETED, now)).toList();
    inFlight = null;
    return Effect().persist(failed).thenRun(s -> {
      metrics.failed(failed.size());
      failed.forEach(e -> context.getLog().info("webhook failed id={} endpoint={} error={}", e.webhookId(),
          endpointId, ENDPOINT_DELETED));
      context.pipeToSelf(delete.remove().get(),
          (existed, failure) -> new DeleteDone(delete.replyTo(), failed.size(), existed, failure));
    });
  }

  private Effect<Event, State> deleteDone(State state, DeleteDone done) {
    deleting = false;
    if (done.failure() != null) {
      return Effect().reply(done.replyTo(), new DeleteFailed(done.failure()));
    }
    return Effect().reply(done.replyTo(), Boolean.TRUE.equals(done.existed())
        ? new Deleted(done.failed()) : DeleteRefused.NOT_FOUND);
  }

  private Effect<Event, State> replay(State state, Replay replay) {
    if (state.parked().containsKey(replay.webhookId()) && endpoints.apply(endpointId).isEmpty()) {
      return Effect().reply(replay.replyTo(), ReplayResult.ENDPOINT_DELETED);
    }
    if (state.parked().containsKey(replay.webhookId())) {
      return Effect().persist(new Replayed(replay.webhookId(), clock.instant()))
          .thenRun(s -> {
            context.getLog().info("webhook replayed id={} endpoint={}", replay.webhookId(), endpointId);
            dispatchHead(s);
          })
          .thenReply(replay.replyTo(), s -> ReplayResult.REPLAYED);
    }
    ReplayResult result = state.queued(replay.webhookId()).isPresent()
        ? ReplayResult.NOT_REPLAYABLE : ReplayResult.NOT_FOUND;
    return Effect().reply(replay.replyTo(), result);
  }

  /** Offers the head of the queue to the hub when nothing is in flight and the head is due. */
  private void dispatchHead(State state) {
    if (inFlight != null || state.queue().isEmpty()) {
      return;
    }
    Instant now = clock.instant();
    if (offerBlockedUntil != null && now.isBefore(offerBlockedUntil)) {
      return;
    }
    Webhook head = state.queue().get(0);
    if (head.status() == Status.RETRYING && head.nextRetryAt() != null && now.isBefore(head.nextRetryAt())) {
      return;
    }
    Optional<Endpoint> endpoint = endpoints.apply(endpointId);
    if (endpoint.isEmpty() || deleting) {
      return; // the next sweep fails what is queued for a deleted endpoint
    }
    inFlight = head.id();
    inFlightAccepted = false;
    inFlightSince = now;
    long dispatch = ++dispatches;
    if (headPayload != null && headPayload.webhookId().equals(head.id())) {
      offer(head, headPayload, endpoint.get());
    } else {
      context.pipeToSelf(payloads.load(persistenceId(endpointId).id(), head.seqNr()),
          (received, failure) -> new PayloadLoaded(dispatch, head.id(), received, failure));
    }
  }

  private void offer(Webhook head, Received payload, Endpoint endpoint) {
    inFlightSince = clock.instant(); // the wait for an answer starts now, not when the payload read began
    int attempt = head.attempts() + 1;
    hubs.tell(new HubRegistry.Offer(endpoint.hubId(), endpointId, envelope(payload, endpoint, attempt), attempt,
        context.getSelf()));
  }

  private Effect<Event, State> payloadLoaded(State state, PayloadLoaded loaded) {
    if (loaded.dispatch() != dispatches || !loaded.webhookId().equals(inFlight)) {
      return Effect().none();
    }
    Optional<Webhook> head = state.queued(loaded.webhookId());
    Optional<Endpoint> endpoint = endpoints.apply(endpointId);
    if (loaded.failure() != null || head.isEmpty() || endpoint.isEmpty()) {
      if (loaded.failure() != null) {
        context.getLog().warn("cannot read webhook {} of endpoint {} from the journal: {}", loaded.webhookId(),
            endpointId, loaded.failure().toString());
      }
      inFlight = null;
      offerBlockedUntil = clock.instant().plus(settings.offerRetryInterval());
      return Effect().none();
    }
    headPayload = loaded.payload();
    offer(head.get(), loaded.payload(), endpoint.get());
    return Effect().none();
  }

  private WebhookEnvelope envelope(Received w, Endpoint endpoint, int attempt) {
    WebhookEnvelope.Builder envelope = WebhookEnvelope.newBuilder();
    if (w.query() != null) {
      envelope.setQuery(w.query());
    }
    return envelope
        .setId(w.webhookId())
        .setEndpointId(endpointId)
        .setDestinationUrl(endpoint.destinationUrl())
        .setReceivedAt(Timestamp.newBuilder().setSeconds(w.receivedAt().getEpochSecond())
            .setNanos(w.receivedAt().getNano()))
        .putAllHeaders(w.headerByteStrings())
        .setPayload(ByteString.copyFrom(w.body()))
        .setAttempt(attempt)
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    // Every event takes one sequence number: the state counts them to know where each Received is.
    return newEventHandlerBuilder().forAnyState()
        .onAnyEvent((state, event) -> {
          State next = apply(state.withSeqNr(state.seqNr() + 1), event);
          // A gauge set to the current depth: harmless to repeat, so also right while recovering.
          metrics.queueDepth(endpointId, next.queue().size());
          return next;
        });
  }

  private static State apply(State state, Event event) {
    if (event instanceof Received e) {
      return state.append(new Webhook(e.webhookId(), state.seqNr(), e.receivedAt(), e.receivedAt(), e.verdict(),
          Status.RECEIVED, 0, null, null, null));
    } else if (event instanceof Dispatched e) {
      return state.replace(e.webhookId(),
          w -> w.with(Status.DISPATCHED, e.attempt(), null, w.lastStatusCode(), w.lastError()));
    } else if (event instanceof Delivered e) {
      return state.remove(e.webhookId(), null);
    } else if (event instanceof RetryScheduled e) {
      return state.replace(e.webhookId(),
          w -> w.with(Status.RETRYING, w.attempts(), e.nextRetryAt(), e.statusCode(), e.error()));
    } else if (event instanceof Failed e) {
      return state.queued(e.webhookId())
          .map(w -> state.remove(w.id(), w.with(Status.FAILED, w.attempts(), null, e.statusCode(), e.error())))
          .orElse(state);
    } else if (event instanceof DeadLettered e) {
      return state.queued(e.webhookId())
          .map(w -> state.remove(w.id(), w.with(Status.DEAD_LETTERED, w.attempts(), null, w.lastStatusCode(),
              w.lastError())))
          .orElse(state);
    } else if (event instanceof Requeued e) {
      return state.replace(e.webhookId(),
          w -> w.with(Status.RETRYING, w.attempts(), e.at(), w.lastStatusCode(), w.lastError()));
    } else if (event instanceof Replayed e) {
      Webhook parked = state.parked().get(e.webhookId());
      if (parked == null) {
        return state;
      }
      Map<String, Webhook> nextParked = new LinkedHashMap<>(state.parked());
      nextParked.remove(e.webhookId());
      return new State(state.queue(), nextParked, state.seqNr()).append(new Webhook(parked.id(), parked.seqNr(),
          parked.receivedAt(), e.at(), parked.verdict(), Status.RECEIVED, parked.attempts(), null,
          parked.lastStatusCode(), parked.lastError()));
    }
    return state;
  }
}
