package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.webhook.EndpointState.InFlight;
import dev.conduit.webhook.signature.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The endpoint queue's pure transitions and decisions, without an actor or a journal. */
class EndpointStateTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration OFFER_RETRY = Duration.ofSeconds(5);
  private static final Duration ACK_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration DEAD_LETTER = Duration.ofHours(1);

  private static WebhookEvent.Received received(String id, Instant at) {
    return new WebhookEvent.Received(id, at, Map.of(), new byte[0], Verdict.UNSIGNED, null, true);
  }

  private static EndpointState fold(WebhookEvent... events) {
    EndpointState state = EndpointState.EMPTY;
    for (WebhookEvent event : events) {
      state = EndpointState.apply(state, event);
    }
    return state;
  }

  private static List<String> ids(EndpointState state) {
    return state.queue().stream().map(EndpointState.Webhook::id).toList();
  }

  @Test
  void everyEventTakesASequenceNumber_receivedRemembersWhereItIs() {
    EndpointState state = fold(received("a", T0), new WebhookEvent.Dispatched("a", 1, T0), received("b", T0));
    assertEquals(3, state.seqNr());
    assertEquals(1, state.queued("a").orElseThrow().seqNr());
    assertEquals(3, state.queued("b").orElseThrow().seqNr());
    assertEquals(DeliveryStatus.DISPATCHED, state.head().orElseThrow().status());
    assertEquals(1, state.head().orElseThrow().attempts());
  }

  @Test
  void deliveredLeaves_failedAndDeadLetteredPark_replayAppendsKeepingAttempts() {
    EndpointState state = fold(received("a", T0), received("b", T0), received("c", T0),
        new WebhookEvent.Dispatched("a", 1, T0), new WebhookEvent.Delivered("a", 200, T0),
        new WebhookEvent.Dispatched("b", 2, T0), new WebhookEvent.Failed("b", 404, "gone", T0),
        new WebhookEvent.DeadLettered("c", T0));
    assertTrue(state.queue().isEmpty());
    assertEquals(DeliveryStatus.FAILED, state.parked().get("b").status());
    assertEquals(404, state.parked().get("b").lastStatusCode());
    assertEquals(DeliveryStatus.DEAD_LETTERED, state.parked().get("c").status());

    Instant later = T0.plusSeconds(60);
    EndpointState replayed = EndpointState.apply(state, new WebhookEvent.Replayed("b", later));
    assertEquals(List.of("b"), ids(replayed));
    EndpointState.Webhook b = replayed.head().orElseThrow();
    assertEquals(DeliveryStatus.RECEIVED, b.status());
    assertEquals(2, b.attempts(), "attempts keep counting across a replay");
    assertEquals(later, b.queuedAt(), "the dead-letter clock restarts");
    assertEquals(2, replayed.queued("b").orElseThrow().seqNr(), "its payload is still its first Received event");
  }

  @Test
  void eventsForUnknownWebhooksChangeOnlyTheSequenceNumber() {
    EndpointState state = fold(received("a", T0));
    EndpointState after = EndpointState.apply(state, new WebhookEvent.Failed("zzz", 0, "x", T0));
    assertEquals(ids(state), ids(after));
    assertTrue(after.parked().isEmpty());
    assertEquals(state.seqNr() + 1, after.seqNr());
  }

  @Test
  void offerable_onlyTheDueHeadWithNothingInFlightAndNoBlock() {
    EndpointState state = fold(received("a", T0), received("b", T0));
    assertEquals("a", EndpointState.offerable(state, null, null, T0).orElseThrow().id());
    assertTrue(EndpointState.offerable(state, InFlight.offered("a", T0), null, T0).isEmpty());
    assertTrue(EndpointState.offerable(state, null, T0.plusSeconds(1), T0).isEmpty(), "blocked after BUSY");
    assertEquals("a", EndpointState.offerable(state, null, T0.plusSeconds(1), T0.plusSeconds(1)).orElseThrow().id());

    EndpointState retrying = EndpointState.apply(state,
        new WebhookEvent.RetryScheduled("a", 1, T0.plusSeconds(10), 500, "boom", T0));
    assertTrue(EndpointState.offerable(retrying, null, null, T0.plusSeconds(9)).isEmpty());
    assertEquals("a", EndpointState.offerable(retrying, null, null, T0.plusSeconds(10)).orElseThrow().id());
    assertTrue(EndpointState.offerable(EndpointState.EMPTY, null, null, T0).isEmpty());
  }

  @Test
  void verdict_successFailureOrRetryWithBackoffOfTheAttempts() {
    EndpointState state = fold(received("a", T0), new WebhookEvent.Dispatched("a", 3, T0));
    EndpointState.Webhook a = state.head().orElseThrow();
    assertInstanceOf(WebhookEvent.Delivered.class,
        EndpointState.verdict(a, new DeliveryProtocol.Ack("a", true, 200, "", false), n -> Duration.ZERO, T0));
    assertInstanceOf(WebhookEvent.Failed.class,
        EndpointState.verdict(a, new DeliveryProtocol.Ack("a", false, 410, "gone", true), n -> Duration.ZERO, T0));
    var retry = assertInstanceOf(WebhookEvent.RetryScheduled.class, EndpointState.verdict(a,
        new DeliveryProtocol.Ack("a", false, 503, "busy", false), n -> Duration.ofSeconds(n * 10L), T0));
    assertEquals(3, retry.attempt());
    assertEquals(T0.plusSeconds(30), retry.nextRetryAt());
    assertEquals(503, retry.statusCode());
  }

  @Test
  void sweep_unansweredOfferForgotten_missingAckRequeued_oldOnesDeadLettered() {
    EndpointState state = fold(received("a", T0), received("b", T0.plusSeconds(600)));
    InFlight offered = InFlight.offered("a", T0);
    EndpointState.Sweep early = EndpointState.sweep(state, offered, T0.plus(OFFER_RETRY).minusMillis(1), OFFER_RETRY,
        ACK_TIMEOUT, DEAD_LETTER);
    assertSame(offered, early.inFlight());
    assertTrue(early.events().isEmpty());
    assertNull(EndpointState.sweep(state, offered, T0.plus(OFFER_RETRY), OFFER_RETRY, ACK_TIMEOUT, DEAD_LETTER)
        .inFlight(), "an offer unanswered for offer-retry-interval is made again");

    InFlight accepted = offered.acceptedAt(T0);
    EndpointState.Sweep held = EndpointState.sweep(state, accepted, T0.plus(ACK_TIMEOUT).minusMillis(1), OFFER_RETRY,
        ACK_TIMEOUT, DEAD_LETTER);
    assertSame(accepted, held.inFlight());
    EndpointState.Sweep overdue = EndpointState.sweep(state, accepted, T0.plus(ACK_TIMEOUT), OFFER_RETRY,
        ACK_TIMEOUT, DEAD_LETTER);
    assertNull(overdue.inFlight());
    assertEquals(List.of(new WebhookEvent.Requeued("a", T0.plus(ACK_TIMEOUT))), overdue.events());

    // An hour on: the held head is not dead-lettered while a hub holds it, the other (younger) not yet.
    Instant hourLater = T0.plus(DEAD_LETTER);
    EndpointState.Sweep old = EndpointState.sweep(state, accepted.acceptedAt(hourLater), hourLater, OFFER_RETRY,
        ACK_TIMEOUT, DEAD_LETTER);
    assertTrue(old.events().isEmpty());
    EndpointState.Sweep idle = EndpointState.sweep(state, null, hourLater, OFFER_RETRY, ACK_TIMEOUT, DEAD_LETTER);
    assertEquals(List.of(new WebhookEvent.DeadLettered("a", hourLater)), idle.events());
    assertNull(EndpointState.sweep(fold(received("b", T0)), InFlight.offered("gone", T0), T0, OFFER_RETRY,
        ACK_TIMEOUT, DEAD_LETTER).inFlight(), "an in-flight webhook no longer queued is forgotten");
  }

  @Test
  void failAll_failsEveryQueuedWebhookInOrder() {
    EndpointState state = fold(received("a", T0), received("b", T0));
    assertEquals(List.of(new WebhookEvent.Failed("a", 0, "endpoint deleted", T0),
        new WebhookEvent.Failed("b", 0, "endpoint deleted", T0)), EndpointState.failAll(state, "endpoint deleted", T0));
  }
}
