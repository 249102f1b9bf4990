package dev.conduit.webhook;

import dev.conduit.persistence.PersistFailures;
import dev.conduit.persistence.PersistenceIds;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One endpoint's delivery queue, event-sourced: every webhook received for the endpoint and its delivery
 * state. This file is the behaviour (what is journaled when, what is offered to the hub); the state and
 * its pure transitions are {@link EndpointState}, the events {@link WebhookEvent}, and the messages
 * exchanged with hubs {@link DeliveryProtocol}. Addressed only by endpoint id, through
 * {@link EndpointEntities}.
 *
 * <p>Order: only the head of the queue is ever in flight; webhook n+1 is offered only once webhook n is
 * delivered, failed or dead-lettered. Which webhook is in flight right now is transient: after a restart
 * nothing is in flight and the head is offered again (hubs de-duplicate by id).
 */
public final class WebhookEndpoint extends EventSourcedBehavior<WebhookEndpoint.Command, WebhookEvent, EndpointState> {

  public static final String ENTITY_TYPE = "WebhookEndpoint";

  // ---------------------------------------------------------------- protocol

  /** Everything the entity handles; the hub side's messages are {@link DeliveryProtocol.ToEndpoint}. */
  public interface Command {}

  /** Journal a new webhook; the reply comes only after the event is stored. */
  public record Ingest(Incoming webhook, ActorRef<Ingested> replyTo) implements Command {}

  /** stored: false when the endpoint was deleted (or is being deleted) first; nothing was stored then. */
  public record Ingested(String webhookId, boolean stored) {}

  /** Due retries and dead letters: sent by the entity's own sweep timer (and by tests). */
  public enum Sweep implements Command { INSTANCE }

  /** Start (recover) and stay alive while there is work; sent at start-up to every endpoint. */
  public enum Wake implements Command { INSTANCE }

  public record Replay(String webhookId, ActorRef<ReplayResult> replyTo) implements Command {}

  public enum ReplayResult { REPLAYED, NOT_FOUND, NOT_REPLAYABLE, ENDPOINT_DELETED }

  public record GetState(ActorRef<EndpointState> replyTo) implements Command {}

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

  /** What ingest hands to the entity; headers as byte strings, query raw or null (see WebhookEvent.Received). */
  public record Incoming(String webhookId, Instant receivedAt, Map<String, String> headers, byte[] body,
                         Verdict verdict, String query) {}

  /** The entity's own sweep timer. */
  private enum Tick implements Command { INSTANCE }

  /** dispatch: which dispatchHead asked for it (a slow read from an abandoned dispatch is ignored). */
  private record PayloadLoaded(long dispatch, String webhookId, WebhookEvent.Received payload, Throwable failure)
      implements Command {}

  private record DeleteDone(ActorRef<DeleteResult> replyTo, int failed, Boolean existed, Throwable failure)
      implements Command {}

  /** Journal the ingests collected since the last flush, in one write. */
  private enum Flush implements Command { INSTANCE }

  // ---------------------------------------------------------------- state (transient; journaled: EndpointState)

  private final String endpointId;
  private final WebhookSettings settings;
  private final Function<String, Optional<Endpoint>> endpoints;
  private final DeliveryProtocol.Hubs hubs;
  private final Runnable keepAlive;
  private final PayloadLoader payloads;
  private final Clock clock;
  private final WebhookMetrics metrics;
  private final ActorContext<Command> context;

  /** The webhook offered to or held by a hub connection right now, or null. */
  private InFlight inFlight;
  /** After BUSY / NO_HUB: no new offer before this instant unless kicked. */
  private Instant offerBlockedUntil;
  /** Counts dispatchHead calls that started a dispatch. */
  private long dispatches;
  /** Payloads of queued webhooks kept in memory since their ingest (up to held-payload-bytes). */
  private final HeldPayloads held;
  /** The head's Received event when it had to be read from the journal (reused for its retries). */
  private WebhookEvent.Received headPayload;
  /** A deletion of the endpoint is under way: ingests are answered "not stored". */
  private boolean deleting;
  /**
   * Ingests waiting for the next Flush. While a write is in progress pekko stashes new commands; when it
   * completes they are all taken in here before the Flush sent after the first of them, so a burst for one
   * endpoint becomes one persistAll instead of one round trip per webhook.
   */
  private final List<Ingest> pendingIngests = new ArrayList<>();
  private boolean flushScheduled;

  // ---------------------------------------------------------------- behaviour

  private WebhookEndpoint(String endpointId, WebhookSettings settings, Function<String, Optional<Endpoint>> endpoints,
                          DeliveryProtocol.Hubs hubs, Runnable keepAlive, PayloadLoader payloads, Clock clock,
                          WebhookMetrics metrics, ActorContext<Command> context) {
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
    this.held = new HeldPayloads(settings.heldPayloadBytes());
  }

  public static PersistenceId persistenceId(String endpointId) {
    return PersistenceIds.of(ENTITY_TYPE, endpointId);
  }

  /** The endpoint id inside a persistence id made by {@link #persistenceId}. */
  public static String endpointIdOf(String persistenceId) {
    return persistenceId.substring(ENTITY_TYPE.length() + 1);
  }

  /**
   * @param endpoints looks up the endpoint's current definition (destination, hub) at dispatch time
   * @param hubs      where offers go (routed to the hub's live connection; answers come by endpoint id)
   * @param keepAlive called on every sweep while the queue is not empty, so the keeper does not passivate the entity
   * @param payloads  reads a webhook's Received event back from the journal when it is not in memory
   * @param metrics   queue depth, outcomes, journal write times and ingest-to-ACK times go here
   */
  public static Behavior<Command> create(String endpointId, WebhookSettings settings,
                                         Function<String, Optional<Endpoint>> endpoints, DeliveryProtocol.Hubs hubs,
                                         Runnable keepAlive, PayloadLoader payloads, Clock clock,
                                         WebhookMetrics metrics) {
    return Behaviors.withTimers(timers -> Behaviors.setup(context -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.sweepInterval());
      return new WebhookEndpoint(endpointId, settings, endpoints, hubs, keepAlive, payloads, clock, metrics,
          context);
    }));
  }

  @Override
  public EndpointState emptyState() {
    return EndpointState.EMPTY;
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
  public Set<String> tagsFor(WebhookEvent event) {
    return Set.of(WebhookEvent.TAG);
  }

  @Override
  public EventHandler<EndpointState, WebhookEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> {
      EndpointState next = EndpointState.apply(state, event);
      // A gauge set to the current depth: harmless to repeat, so also right while recovering.
      metrics.queueDepth(endpointId, next.queue().size());
      return next;
    });
  }

  @Override
  public SignalHandler<EndpointState> signalHandler() {
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
  public CommandHandler<Command, WebhookEvent, EndpointState> commandHandler() {
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
  private Effect<WebhookEvent, EndpointState> ingest(EndpointState state, Ingest ingest) {
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

  private Effect<WebhookEvent, EndpointState> flush(EndpointState state, Flush flush) {
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
    List<WebhookEvent> events = batch.stream().map(Ingest::webhook)
        .<WebhookEvent>map(w -> new WebhookEvent.Received(w.webhookId(), w.receivedAt(), w.headers(), w.body(), w.verdict(),
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
      // Kept in memory (as far as they fit), so reaching the head of the queue needs no journal read.
      events.forEach(e -> held.hold((WebhookEvent.Received) e));
      dispatchHead(s);
    });
  }

  private Effect<WebhookEvent, EndpointState> ack(EndpointState state, Ack ack) {
    Optional<Webhook> queued = state.queued(ack.webhookId());
    if (queued.isEmpty()) {
      context.getLog().debug("ack for webhook {} of endpoint {} ignored: not queued", ack.webhookId(), endpointId);
      return Effect().none();
    }
    if (inFlight != null && ack.webhookId().equals(inFlight.webhookId())) {
      inFlight = null;
    }
    Webhook w = queued.get();
    Instant now = clock.instant();
    WebhookEvent event = EndpointState.verdict(w, ack, settings::backoff, now);
    long writeStarted = System.nanoTime();
    return Effect().persist(event).thenRun(s -> {
      metrics.journalWritten(writeStarted);
      releaseGone(List.of(event));
      if (event instanceof WebhookEvent.Delivered) {
        metrics.delivered(Duration.between(w.queuedAt(), now));
        context.getLog().info("webhook delivered id={} endpoint={} attempts={} status={}", w.id(), endpointId,
            w.attempts(), ack.statusCode());
        dispatchHead(s);
      } else if (event instanceof WebhookEvent.Failed) {
        metrics.failed(1);
        context.getLog().info("webhook failed id={} endpoint={} attempts={} status={} error={}", w.id(), endpointId,
            w.attempts(), ack.statusCode(), ack.error());
        dispatchHead(s);
      } else if (event instanceof WebhookEvent.RetryScheduled retry) {
        context.getLog().debug("webhook retry scheduled id={} endpoint={} attempt={} next={} status={}", w.id(),
            endpointId, retry.attempt(), retry.nextRetryAt(), ack.statusCode());
      }
    });
  }

  private Effect<WebhookEvent, EndpointState> requeue(EndpointState state, Requeue requeue) {
    if (inFlight != null && requeue.webhookId().equals(inFlight.webhookId())) {
      inFlight = null;
    }
    Optional<Webhook> queued = state.queued(requeue.webhookId());
    if (queued.isEmpty() || queued.get().status() != DeliveryStatus.DISPATCHED) {
      return Effect().none().thenRun(this::dispatchHead);
    }
    return Effect().persist(new WebhookEvent.Requeued(requeue.webhookId(), clock.instant()))
        .thenRun(this::dispatchHead);
  }

  private Effect<WebhookEvent, EndpointState> offerResult(EndpointState state, OfferResult result) {
    if (inFlight == null || !result.webhookId().equals(inFlight.webhookId())) {
      return Effect().none();
    }
    if (result.outcome() == Outcome.ACCEPTED) {
      if (inFlight.accepted()) {
        return Effect().none(); // the answer to a repeated offer of what the connection already holds
      }
      inFlight = inFlight.acceptedAt(clock.instant());
      return Effect().persist(new WebhookEvent.Dispatched(result.webhookId(), result.attempt(), clock.instant()))
          .thenRun(s -> context.getLog().debug("webhook dispatched id={} endpoint={} attempt={}", result.webhookId(),
              endpointId, result.attempt()));
    }
    inFlight = null;
    offerBlockedUntil = clock.instant().plus(settings.offerRetryInterval());
    return Effect().none();
  }

  private Effect<WebhookEvent, EndpointState> sweep(EndpointState state) {
    Instant now = clock.instant();
    if (!deleting && !state.queue().isEmpty() && endpoints.apply(endpointId).isEmpty()) {
      // Queued for an endpoint deleted without this entity (by an older version): nothing can deliver
      // them, and ids are never reused, so they end now rather than wait to be dead-lettered.
      inFlight = null;
      List<WebhookEvent> failed = EndpointState.failAll(state, ENDPOINT_DELETED, now);
      return Effect().persist(failed).thenRun(s -> {
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
        context.getLog().info("webhook not acknowledged within {}s id={} endpoint={}: offering again",
            settings.ackTimeout().toSeconds(), before.webhookId(), endpointId);
      } else {
        context.getLog().debug("offer of webhook {} unanswered: offering again", before.webhookId());
      }
    }
    if (sweep.events().isEmpty()) {
      return Effect().none().thenRun(this::dispatchHead);
    }
    return Effect().persist(sweep.events()).thenRun(s -> {
      releaseGone(sweep.events());
      List<WebhookEvent> deadLettered = sweep.events().stream()
          .filter(e -> e instanceof WebhookEvent.DeadLettered).toList();
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

  private Effect<WebhookEvent, EndpointState> delete(EndpointState state, Delete delete) {
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
    List<WebhookEvent> failed = EndpointState.failAll(state, ENDPOINT_DELETED, now);
    inFlight = null;
    return Effect().persist(failed).thenRun(s -> {
      releaseGone(failed);
      metrics.failed(failed.size());
      failed.forEach(e -> context.getLog().info("webhook failed id={} endpoint={} error={}", e.webhookId(),
          endpointId, ENDPOINT_DELETED));
      context.pipeToSelf(delete.remove().get(),
          (existed, failure) -> new DeleteDone(delete.replyTo(), failed.size(), existed, failure));
    });
  }

  private Effect<WebhookEvent, EndpointState> deleteDone(EndpointState state, DeleteDone done) {
    deleting = false;
    if (done.failure() != null) {
      return Effect().reply(done.replyTo(), new DeleteFailed(done.failure()));
    }
    return Effect().reply(done.replyTo(), Boolean.TRUE.equals(done.existed())
        ? new Deleted(done.failed()) : DeleteRefused.NOT_FOUND);
  }

  private Effect<WebhookEvent, EndpointState> replay(EndpointState state, Replay replay) {
    if (state.parked().containsKey(replay.webhookId()) && endpoints.apply(endpointId).isEmpty()) {
      return Effect().reply(replay.replyTo(), ReplayResult.ENDPOINT_DELETED);
    }
    if (state.parked().containsKey(replay.webhookId())) {
      return Effect().persist(new WebhookEvent.Replayed(replay.webhookId(), clock.instant()))
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
  private void dispatchHead(EndpointState state) {
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
      context.pipeToSelf(payloads.load(persistenceId(endpointId).id(), head.seqNr()),
          (received, failure) -> new PayloadLoaded(dispatch, head.id(), received, failure));
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

  private Effect<WebhookEvent, EndpointState> payloadLoaded(EndpointState state, PayloadLoaded loaded) {
    if (loaded.dispatch() != dispatches || inFlight == null || !loaded.webhookId().equals(inFlight.webhookId())) {
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
}
