package dev.conduit.webhook;

import dev.conduit.persistence.JsonSerializable;
import dev.conduit.webhook.signature.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * One endpoint's delivery queue, as its entity holds it in memory, with its pure transitions:
 * {@link #apply} folds a change ({@link WebhookEvent}) into the state; the other static functions decide
 * what is due. No actor, clock or database here: {@code WebhookEndpoint} feeds them and writes the rows
 * their changes make ({@link WebhookTable}); {@link JournalImport} folds old journals with the same code.
 *
 * <p>queue: webhooks still to deliver, in order; parked: failed and dead-lettered ones (kept for replay).
 * Delivered webhooks leave the state (their row lives on in the webhooks table); the entity also drops
 * parked ones once written (replay reads them back). seqNr counts the events applied (a queued webhook's
 * seqNr is its row's seq when read back from the table). Immutable: every event makes a new state. The queue is a {@link WebhookQueue}, so the usual events (append, change
 * or remove the head) do not copy it: a copy per event made draining a backlog of n webhooks cost O(n^2).
 */
public record EndpointState(List<Webhook> queue, Map<String, Webhook> parked, long seqNr) implements JsonSerializable {

  public static final EndpointState EMPTY = new EndpointState(WebhookQueue.EMPTY, Map.of(), 0L);

  /**
   * One webhook's delivery metadata. seqNr: its row's seq when read from the table; queuedAt starts the
   * dead-letter clock (receipt, or the last replay); attempts counts pushes a hub accepted; nextRetryAt is
   * null when due at once.
   */
  public record Webhook(String id, long seqNr, Instant receivedAt, Instant queuedAt, Verdict verdict,
                        DeliveryStatus status, int attempts, Instant nextRetryAt, Integer lastStatusCode,
                        String lastError) {

    Webhook with(DeliveryStatus newStatus, int newAttempts, Instant newNextRetryAt, Integer statusCode,
                 String error) {
      return new Webhook(id, seqNr, receivedAt, queuedAt, verdict, newStatus, newAttempts, newNextRetryAt,
          statusCode, error);
    }
  }

  public EndpointState {
    queue = queue == null ? WebhookQueue.EMPTY : WebhookQueue.of(queue);
    parked = parked == null ? Map.of() : Map.copyOf(parked);
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

  private EndpointState append(Webhook webhook) {
    return new EndpointState(q().append(webhook), parked, seqNr);
  }

  private EndpointState replace(String id, Function<Webhook, Webhook> change) {
    int index = q().positionOf(id);
    return index < 0 ? this : new EndpointState(q().with(index, change), parked, seqNr);
  }

  private EndpointState remove(String id, Webhook parkAs) {
    int index = q().positionOf(id);
    WebhookQueue next = index < 0 ? q() : q().without(index);
    Map<String, Webhook> nextParked = parked;
    if (parkAs != null) {
      nextParked = new LinkedHashMap<>(parked);
      nextParked.put(id, parkAs);
    }
    return new EndpointState(next, nextParked, seqNr);
  }

  // ---------------------------------------------------------------- transitions

  /** The state after event, which takes the next sequence number. Unknown webhook ids change nothing else. */
  public static EndpointState apply(EndpointState before, WebhookEvent event) {
    EndpointState state = new EndpointState(before.queue, before.parked, before.seqNr + 1);
    if (event instanceof WebhookEvent.Received e) {
      return state.append(new Webhook(e.webhookId(), state.seqNr, e.receivedAt(), e.receivedAt(), e.verdict(),
          DeliveryStatus.RECEIVED, 0, null, null, null));
    } else if (event instanceof WebhookEvent.Dispatched e) {
      return state.replace(e.webhookId(),
          w -> w.with(DeliveryStatus.DISPATCHED, e.attempt(), null, w.lastStatusCode(), w.lastError()));
    } else if (event instanceof WebhookEvent.Delivered e) {
      return state.remove(e.webhookId(), null);
    } else if (event instanceof WebhookEvent.RetryScheduled e) {
      return state.replace(e.webhookId(),
          w -> w.with(DeliveryStatus.RETRYING, w.attempts(), e.nextRetryAt(), e.statusCode(), e.error()));
    } else if (event instanceof WebhookEvent.Failed e) {
      return state.queued(e.webhookId())
          .map(w -> state.remove(w.id(), w.with(DeliveryStatus.FAILED, w.attempts(), null, e.statusCode(),
              e.error())))
          .orElse(state);
    } else if (event instanceof WebhookEvent.DeadLettered e) {
      return state.queued(e.webhookId())
          .map(w -> state.remove(w.id(), w.with(DeliveryStatus.DEAD_LETTERED, w.attempts(), null,
              w.lastStatusCode(), w.lastError())))
          .orElse(state);
    } else if (event instanceof WebhookEvent.Requeued e) {
      return state.replace(e.webhookId(),
          w -> w.with(DeliveryStatus.RETRYING, w.attempts(), e.at(), w.lastStatusCode(), w.lastError()));
    } else if (event instanceof WebhookEvent.Replayed e) {
      Webhook parked = state.parked.get(e.webhookId());
      if (parked == null) {
        return state;
      }
      Map<String, Webhook> nextParked = new LinkedHashMap<>(state.parked);
      nextParked.remove(e.webhookId());
      return new EndpointState(state.queue, nextParked, state.seqNr).append(new Webhook(parked.id(),
          parked.seqNr(), parked.receivedAt(), e.at(), parked.verdict(), DeliveryStatus.RECEIVED, parked.attempts(),
          null, parked.lastStatusCode(), parked.lastError()));
    }
    return state;
  }

  // ---------------------------------------------------------------- decisions

  /**
   * The webhook offered to (or held by) a hub connection right now: not journaled, so after a restart nothing
   * is in flight. accepted: the connection took it (else the offer is unanswered yet); since: when it was
   * offered, or taken.
   */
  public record InFlight(String webhookId, boolean accepted, Instant since) {
    public static InFlight offered(String webhookId, Instant at) {
      return new InFlight(webhookId, false, at);
    }

    public InFlight acceptedAt(Instant at) {
      return new InFlight(webhookId, true, at);
    }
  }

  /**
   * The head of the queue if it may be offered now: nothing in flight, no offer block (after BUSY / NO_HUB)
   * still running, and not a retry that is not yet due.
   */
  public static Optional<Webhook> offerable(EndpointState state, InFlight inFlight, Instant blockedUntil,
                                            Instant now) {
    if (inFlight != null || state.queue.isEmpty() || (blockedUntil != null && now.isBefore(blockedUntil))) {
      return Optional.empty();
    }
    Webhook head = state.queue.get(0);
    if (head.status() == DeliveryStatus.RETRYING && head.nextRetryAt() != null && now.isBefore(head.nextRetryAt())) {
      return Optional.empty();
    }
    return Optional.of(head);
  }

  /**
   * The event a hub's verdict on queued webhook w makes: Delivered, Failed (permanent), or RetryScheduled
   * after backoff(attempts) for anything else.
   */
  public static WebhookEvent verdict(Webhook w, DeliveryProtocol.Ack ack, Function<Integer, Duration> backoff,
                                     Instant now) {
    if (ack.success()) {
      return new WebhookEvent.Delivered(w.id(), ack.statusCode(), now);
    }
    if (ack.permanentFailure()) {
      return new WebhookEvent.Failed(w.id(), ack.statusCode(), ack.error(), now);
    }
    int attempts = Math.max(1, w.attempts());
    return new WebhookEvent.RetryScheduled(w.id(), attempts, now.plus(backoff.apply(attempts)), ack.statusCode(),
        ack.error(), now);
  }

  /** What a sweep decided: the in-flight webhook afterwards (null: none) and the events to journal. */
  public record Sweep(InFlight inFlight, List<WebhookEvent> events) {}

  /**
   * The periodic check: an in-flight webhook gone from the queue is forgotten; an offer unanswered for
   * offerRetryInterval is forgotten (offered again); one accepted but unacknowledged for ackTimeout is
   * Requeued; any other queued webhook older than deadLetterAfter (since queuedAt) is DeadLettered.
   */
  public static Sweep sweep(EndpointState state, InFlight inFlight, Instant now, Duration offerRetryInterval,
                            Duration ackTimeout, Duration deadLetterAfter) {
    List<WebhookEvent> events = new ArrayList<>();
    InFlight next = inFlight;
    if (next != null) {
      if (state.queued(next.webhookId()).isEmpty()) {
        next = null;
      } else if (!next.accepted() && !next.since().plus(offerRetryInterval).isAfter(now)) {
        next = null; // the connection it was routed to had just stopped: offer again
      } else if (next.accepted() && !next.since().plus(ackTimeout).isAfter(now)) {
        events.add(new WebhookEvent.Requeued(next.webhookId(), now));
        next = null;
      }
    }
    for (Webhook w : state.queue) {
      boolean held = next != null && w.id().equals(next.webhookId());
      if (!held && !w.queuedAt().plus(deadLetterAfter).isAfter(now)) {
        events.add(new WebhookEvent.DeadLettered(w.id(), now));
      }
    }
    return new Sweep(next, events);
  }

  /** Failed events ("error") for every queued webhook, e.g. when their endpoint is deleted. */
  public static List<WebhookEvent> failAll(EndpointState state, String error, Instant now) {
    return state.queue.stream().<WebhookEvent>map(w -> new WebhookEvent.Failed(w.id(), 0, error, now)).toList();
  }
}
