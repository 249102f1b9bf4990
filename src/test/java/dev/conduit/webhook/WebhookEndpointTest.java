package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.TestClock;
import dev.conduit.webhook.DeliveryProtocol.Ack;
import dev.conduit.webhook.DeliveryProtocol.Offer;
import dev.conduit.webhook.DeliveryProtocol.OfferResult;
import dev.conduit.webhook.DeliveryProtocol.Outcome;
import dev.conduit.webhook.WebhookEndpoint.Command;
import dev.conduit.webhook.signature.Provider;
import dev.conduit.webhook.signature.Verdict;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The endpoint entity's state machine, driven command by command against the persistence testkit's journal. */
class WebhookEndpointTest {
  private static final ActorTestKit KIT = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private static final String ENDPOINT = "ep1";
  private static final Endpoint DEFINITION = new Endpoint(ENDPOINT, "n", Provider.GENERIC, null,
      "http://home.lan/hook", "home", Instant.EPOCH, Instant.EPOCH);

  private static final PayloadLoader PAYLOADS = PayloadLoader.fromReadJournal(KIT.system(),
      org.apache.pekko.persistence.testkit.query.javadsl.PersistenceTestKitReadJournal.Identifier());

  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final AtomicInteger keepAlives = new AtomicInteger();
  private TestProbe<Offer> hubs;
  private EventSourcedBehaviorTestKit<Command, WebhookEvent, EndpointState> entity;

  static WebhookSettings settings() {
    return new WebhookSettings(1 << 20, false, Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofSeconds(8),
        Duration.ofHours(1), Duration.ofHours(1), Duration.ofSeconds(5), Duration.ofMinutes(5), 5, Duration.ofSeconds(5),
        Duration.ofSeconds(5), "t", 100, 1 << 20, Duration.ofSeconds(30));
  }

  @BeforeEach
  void setUp() {
    hubs = KIT.createTestProbe();
    entity = EventSourcedBehaviorTestKit.create(KIT.system(),
        WebhookEndpoint.create(ENDPOINT + "-" + System.nanoTime(), settings(), id -> Optional.of(DEFINITION),
            hubs.ref()::tell, keepAlives::incrementAndGet, PAYLOADS, clock, new WebhookMetrics(0)),
        EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false)
            .withVerifyEquality(false));
  }

  @AfterAll
  static void shutDown() {
    KIT.shutdownTestKit();
  }

  private String ingest(String body) {
    String id = java.util.UUID.randomUUID().toString();
    var result = entity.<WebhookEndpoint.Ingested>runCommand(replyTo -> new WebhookEndpoint.Ingest(
        new WebhookEndpoint.Incoming(id, clock.instant(), Map.of("content-type", "application/json"),
            body.getBytes(StandardCharsets.UTF_8), Verdict.UNSIGNED, null), replyTo));
    assertInstanceOf(WebhookEvent.Received.class, result.event());
    assertEquals(id, result.reply().webhookId());
    return id;
  }

  private Offer expectOffer(String id, int attempt) {
    Offer offer = hubs.expectMessageClass(Offer.class);
    assertEquals(id, offer.webhookId());
    assertEquals(attempt, offer.attempt());
    assertEquals("home", offer.hubId());
    assertEquals("http://home.lan/hook", offer.destinationUrl());
    return offer;
  }

  private void accept(String id, int attempt) {
    var result = entity.runCommand(new OfferResult(id, attempt, Outcome.ACCEPTED));
    WebhookEvent.Dispatched dispatched = assertInstanceOf(WebhookEvent.Dispatched.class, result.event());
    assertEquals(attempt, dispatched.attempt());
    assertEquals(DeliveryStatus.DISPATCHED, result.state().queued(id).orElseThrow().status());
  }

  private void noOffer() {
    hubs.expectNoMessage(Duration.ofMillis(50));
  }

  /** A Received event journaled before query and headerBytes existed still reads, its headers as text. */
  @Test
  void receivedEventsOfOlderVersionsStillDeserialize() throws Exception {
    var serialization = org.apache.pekko.serialization.SerializationExtension.get(KIT.system());
    var serializer = (org.apache.pekko.serialization.SerializerWithStringManifest) serialization.serializerFor(
        WebhookEvent.Received.class);
    String older = "{\"webhookId\":\"w1\",\"receivedAt\":\"2026-01-01T00:00:00Z\","
        + "\"headers\":{\"x-title\":\"caf\u00e9\"},\"body\":\"e30=\",\"verdict\":\"UNSIGNED\"}";
    var event = (WebhookEvent.Received) serializer.fromBinary(older.getBytes(StandardCharsets.UTF_8),
        serializer.manifest(new WebhookEvent.Received("x", java.time.Instant.EPOCH, Map.of(), new byte[0],
            Verdict.UNSIGNED, null, true)));
    assertEquals("w1", event.webhookId());
    assertEquals(null, event.query());
    assertEquals(null, event.headerBytes());
    assertEquals("{}", new String(event.body(), StandardCharsets.UTF_8));
    // Text then: forwarded as its UTF-8 bytes.
    assertEquals(Map.of("x-title", "caf\u00c3\u00a9"), event.headerByteStrings());
  }

  @Test
  void deliversInOrder_retriesWithDoublingCappedBackoff() {
    String first = ingest("{\"n\":1}");
    Offer offer = expectOffer(first, 1);
    assertArrayEquals("{\"n\":1}".getBytes(StandardCharsets.UTF_8), offer.payload());
    assertEquals("application/json", offer.headers().get("content-type"));
    String second = ingest("{\"n\":2}");
    noOffer(); // the first is in flight: the second waits
    accept(first, 1);

    List<Duration> delays = new ArrayList<>();
    for (int attempt = 1; attempt <= 5; attempt++) {
      var result = entity.runCommand(new Ack(first, false, 500, "HTTP 500", false));
      var retry = assertInstanceOf(WebhookEvent.RetryScheduled.class, result.event());
      assertEquals(DeliveryStatus.RETRYING, result.state().head().orElseThrow().status());
      Duration delay = Duration.between(clock.instant(), retry.nextRetryAt());
      delays.add(delay);
      // Not yet due: nothing is offered, the second still waits.
      clock.advance(delay.minusMillis(1));
      entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
      noOffer();
      clock.advance(Duration.ofMillis(1));
      entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
      expectOffer(first, attempt + 1);
      accept(first, attempt + 1);
    }
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(8),
        Duration.ofSeconds(8)), delays, "1 s doubling, capped at the configured maximum");

    var delivered = entity.runCommand(new Ack(first, true, 200, "", false));
    assertInstanceOf(WebhookEvent.Delivered.class, delivered.event());
    assertEquals(List.of(second), delivered.state().queue().stream().map(EndpointState.Webhook::id).toList());
    expectOffer(second, 1); // the next one goes at once
    accept(second, 1);
    var done = entity.runCommand(new Ack(second, true, 204, "", false));
    assertTrue(done.state().queue().isEmpty());
    assertTrue(done.state().parked().isEmpty());
  }

  @Test
  void permanentFailureLeavesTheQueue_replayPutsItBack() {
    String first = ingest("a");
    String second = ingest("b");
    expectOffer(first, 1);
    accept(first, 1);
    var failed = entity.runCommand(new Ack(first, false, 404, "HTTP 404", true));
    assertInstanceOf(WebhookEvent.Failed.class, failed.event());
    assertEquals(DeliveryStatus.FAILED, failed.state().parked().get(first).status());
    assertEquals(404, failed.state().parked().get(first).lastStatusCode());
    expectOffer(second, 1); // the failed one no longer blocks the queue

    assertEquals(WebhookEndpoint.ReplayResult.NOT_REPLAYABLE,
        entity.<WebhookEndpoint.ReplayResult>runCommand(r -> new WebhookEndpoint.Replay(second, r)).reply());
    assertEquals(WebhookEndpoint.ReplayResult.NOT_FOUND,
        entity.<WebhookEndpoint.ReplayResult>runCommand(r -> new WebhookEndpoint.Replay("nope", r)).reply());
    var replayed = entity.<WebhookEndpoint.ReplayResult>runCommand(r -> new WebhookEndpoint.Replay(first, r));
    assertEquals(WebhookEndpoint.ReplayResult.REPLAYED, replayed.reply());
    assertInstanceOf(WebhookEvent.Replayed.class, replayed.event());
    assertEquals(List.of(second, first), replayed.state().queue().stream().map(EndpointState.Webhook::id).toList(),
        "replayed to the back of the queue");
    assertTrue(replayed.state().parked().isEmpty());

    accept(second, 1);
    entity.runCommand(new Ack(second, true, 200, "", false));
    expectOffer(first, 2); // attempts keep counting across the replay
  }

  @Test
  void busyOrAbsentHubWaitsForKick_lostConnectionRequeues() {
    String id = ingest("x");
    expectOffer(id, 1);
    assertTrue(entity.runCommand(new OfferResult(id, 1, Outcome.NO_HUB)).events().isEmpty());
    entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    noOffer(); // waits for the hub (or the offer retry interval)
    entity.runCommand(DeliveryProtocol.Kick.INSTANCE);
    expectOffer(id, 1);
    entity.runCommand(new OfferResult(id, 1, Outcome.BUSY));
    clock.advance(Duration.ofSeconds(5));
    entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    expectOffer(id, 1); // offer retry interval passed
    accept(id, 1);
    var requeued = entity.runCommand(new DeliveryProtocol.Requeue(id));
    assertInstanceOf(WebhookEvent.Requeued.class, requeued.event());
    assertEquals(DeliveryStatus.RETRYING, requeued.state().head().orElseThrow().status());
    expectOffer(id, 2);
    // An ack for a webhook the entity does not hold is ignored.
    assertTrue(entity.runCommand(new Ack("unknown", true, 200, "", false)).events().isEmpty());
  }

  @Test
  void aBurstOfIngestsIsJournaledInArrivalOrder() {
    var endpoint = KIT.spawn(WebhookEndpoint.create("burst-" + System.nanoTime(), settings(),
        id -> Optional.of(DEFINITION), hubs.ref()::tell, () -> { }, PAYLOADS, clock, new WebhookMetrics(0)));
    TestProbe<WebhookEndpoint.Ingested> replies = KIT.createTestProbe();
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      String id = "w" + i;
      sent.add(id);
      endpoint.tell(new WebhookEndpoint.Ingest(new WebhookEndpoint.Incoming(id, clock.instant(), Map.of(),
          new byte[] {(byte) i}, Verdict.UNSIGNED, null), replies.ref()));
    }
    List<String> acknowledged = replies.receiveSeveralMessages(200).stream().map(WebhookEndpoint.Ingested::webhookId)
        .toList();
    assertEquals(sent, acknowledged);
    TestProbe<EndpointState> state = KIT.createTestProbe();
    endpoint.tell(new WebhookEndpoint.GetState(state.ref()));
    assertEquals(sent, state.receiveMessage().queue().stream().map(EndpointState.Webhook::id).toList());
    expectOffer("w0", 1); // only the head is offered
    noOffer();
  }

  @Test
  void unansweredOfferAndMissingAckAreOfferedAgain() {
    String id = ingest("x");
    expectOffer(id, 1); // ... and the answer is lost
    entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    noOffer();
    clock.advance(Duration.ofSeconds(5));
    entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    expectOffer(id, 1);
    accept(id, 1); // the hub took it but never acknowledges
    clock.advance(Duration.ofMinutes(5).minusMillis(1));
    entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    noOffer();
    clock.advance(Duration.ofMillis(1));
    var swept = entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    assertInstanceOf(WebhookEvent.Requeued.class, swept.event());
    expectOffer(id, 2);
  }

  /**
   * Regression: the wait for a hub's answer was counted from the start of the payload read, so a read
   * slower than offer-retry-interval made the next sweep offer the webhook a second time although the
   * first offer was only just sent; the connection then sent it twice on one stream.
   */
  @Test
  void aSlowPayloadReadDoesNotCountAsAnUnansweredOffer() {
    TestProbe<Offer> slowHubs = KIT.createTestProbe();
    PayloadLoader slowRead = (persistenceId, seqNr) -> {
      clock.advance(Duration.ofSeconds(5)); // the journal read takes offer-retry-interval
      return PAYLOADS.load(persistenceId, seqNr);
    };
    var slow = EventSourcedBehaviorTestKit.<Command, WebhookEvent, EndpointState>create(KIT.system(),
        WebhookEndpoint.create(ENDPOINT + "-slow-" + System.nanoTime(), settings(), id -> Optional.of(DEFINITION),
            slowHubs.ref()::tell, keepAlives::incrementAndGet, slowRead, clock, new WebhookMetrics(0)),
        EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false)
            .withVerifyEquality(false));
    String id = java.util.UUID.randomUUID().toString();
    slow.<WebhookEndpoint.Ingested>runCommand(replyTo -> new WebhookEndpoint.Ingest(new WebhookEndpoint.Incoming(id,
        clock.instant(), Map.of(), "x".getBytes(StandardCharsets.UTF_8), Verdict.UNSIGNED, null), replyTo));
    // Just ingested: offered from memory. After a restart the payload is read from the journal (slowly).
    assertEquals(id, slowHubs.expectMessageClass(Offer.class).webhookId());
    slow.restart();
    assertEquals(id, slowHubs.expectMessageClass(Offer.class).webhookId());
    slow.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    slowHubs.expectNoMessage(Duration.ofMillis(50));
    clock.advance(Duration.ofSeconds(5)); // now the offer itself has gone unanswered that long
    slow.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    assertEquals(id, slowHubs.expectMessageClass(Offer.class).webhookId());
  }

  @Test
  void aRepeatedAcceptIsNotJournaledAgain() {
    String id = ingest("x");
    expectOffer(id, 1);
    accept(id, 1);
    var repeated = entity.runCommand(new OfferResult(id, 1, Outcome.ACCEPTED));
    assertTrue(repeated.events().isEmpty(), "one dispatch, one Dispatched event");
    assertEquals(1, repeated.state().queued(id).orElseThrow().attempts());
  }

  @Test
  void deadLettersAfterTheConfiguredAge() {
    String old = ingest("old");
    expectOffer(old, 1);
    accept(old, 1);
    entity.runCommand(new Ack(old, false, 503, "HTTP 503", false));
    clock.advance(Duration.ofMinutes(30));
    String young = ingest("young");
    expectOffer(old, 2); // the retry is due: offered, but no hub is there
    entity.runCommand(new OfferResult(old, 2, Outcome.NO_HUB));
    clock.advance(Duration.ofMinutes(30));
    var swept = entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    assertEquals(1, swept.events().size());
    assertEquals(old, assertInstanceOf(WebhookEvent.DeadLettered.class, swept.events().get(0)).webhookId());
    assertEquals(DeliveryStatus.DEAD_LETTERED, swept.state().parked().get(old).status());
    expectOffer(young, 1); // the dead letter left the queue; the younger one is next
    assertEquals(WebhookEndpoint.ReplayResult.REPLAYED,
        entity.<WebhookEndpoint.ReplayResult>runCommand(r -> new WebhookEndpoint.Replay(old, r)).reply());
  }

  @Test
  void recoversExactlyWhereItStopped() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 12; i++) { // more than snapshot-every (5): recovery uses a snapshot plus events
      ids.add(ingest("n" + i));
    }
    expectOffer(ids.get(0), 1);
    accept(ids.get(0), 1);
    entity.runCommand(new Ack(ids.get(0), true, 200, "", false));
    expectOffer(ids.get(1), 1);
    accept(ids.get(1), 1);
    entity.runCommand(new Ack(ids.get(1), false, 404, "gone", true));
    expectOffer(ids.get(2), 1);
    accept(ids.get(2), 1);
    var retry = entity.runCommand(new Ack(ids.get(2), false, 500, "boom", false));
    EndpointState before = retry.state();

    var restarted = entity.restart();
    EndpointState after = restarted.state();
    assertEquals(before.queue().stream().map(w -> w.id() + w.status() + w.attempts() + w.nextRetryAt()).toList(),
        after.queue().stream().map(w -> w.id() + w.status() + w.attempts() + w.nextRetryAt()).toList());
    assertEquals(before.parked().keySet(), after.parked().keySet());
    assertEquals(before.seqNr(), after.seqNr());
    assertEquals(10, after.queue().size());
    clock.advance(Duration.ofSeconds(1));
    entity.runCommand(WebhookEndpoint.Sweep.INSTANCE);
    Offer resumed = expectOffer(ids.get(2), 2); // the head resumes with its retry, nothing skipped
    assertArrayEquals("n2".getBytes(StandardCharsets.UTF_8), resumed.payload(),
        "the payload is read back from the journal");
  }
}
