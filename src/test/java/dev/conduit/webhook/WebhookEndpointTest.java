package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.persistence.Database;
import dev.conduit.persistence.DatabaseConfig;
import dev.conduit.testing.TestClock;
import dev.conduit.testing.TestDatabase;
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
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The endpoint entity's state machine, driven message by message against a real webhooks table (H2):
 * after each message the test asks the entity for its state, which it answers only once the write the
 * message caused has committed, and reads the webhook's row where the row is what matters.
 */
class WebhookEndpointTest {
  private static final String ENDPOINT_PREFIX = "ep";
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static TestDatabase db;
  private static ActorTestKit kit;
  private static WebhookTable table;
  private static WebhookWriter writer;

  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private TestProbe<Offer> hubs;
  private String endpointId;
  private Endpoint definition;
  private ActorRef<Command> entity;

  /** Conduit's defaults with this test's timings; overrides are HOCON lines under conduit.webhook. */
  static WebhookSettings settings(String... overrides) {
    return WebhookSettings.from(ConfigFactory.parseString(String.join("\n", overrides))
        .atPath("conduit.webhook")
        .withFallback(ConfigFactory.parseString("""
            conduit.webhook {
              retry-min-backoff = 1s
              retry-max-backoff = 8s
              dead-letter-after = 1h
              sweep-interval = 1h
              offer-retry-interval = 5s
              ack-timeout = 5m
              ingest-timeout = 5s
              ask-timeout = 5s
              admin-token = t
              held-payload-bytes = 1MiB
              write-batch-max = 100
              write-parallelism = 2
              write-queue-size = 1000
              status-write-delay = 20ms
            }"""))
        .withFallback(ConfigFactory.load()));
  }

  @BeforeAll
  static void startDatabase() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    kit = ActorTestKit.create(DatabaseConfig.loadApplicationConfig(db.config()));
    Database database = new Database(kit.system());
    table = new WebhookTable(database);
    table.createIfAbsent().toCompletableFuture().get();
    writer = new WebhookWriter(kit.system(), table, settings(), new WebhookMetrics(0));
  }

  @AfterAll
  static void shutDown() throws Exception {
    kit.shutdownTestKit();
    db.close();
  }

  @BeforeEach
  void setUp() {
    hubs = kit.createTestProbe();
    endpointId = ENDPOINT_PREFIX + System.nanoTime();
    definition = new Endpoint(endpointId, "n", Provider.GENERIC, null, "http://home.lan/hook", "home", Instant.EPOCH,
        Instant.EPOCH);
    entity = start(settings());
  }

  private ActorRef<Command> start(WebhookSettings settings) {
    return kit.spawn(WebhookEndpoint.create(endpointId, settings, id -> Optional.of(definition),
        id -> java.util.concurrent.CompletableFuture.completedFuture(true), hubs.ref()::tell,
        () -> { }, table, writer, clock, new WebhookMetrics(0)));
  }

  /** The entity's state once everything sent before is handled and written. */
  private EndpointState state() {
    TestProbe<EndpointState> probe = kit.createTestProbe();
    entity.tell(new WebhookEndpoint.GetState(probe.ref()));
    return probe.receiveMessage(TIMEOUT);
  }

  private EndpointState run(Command command) {
    entity.tell(command);
    return state();
  }

  private WebhookTable.Row row(String id) throws Exception {
    return table.get(id).toCompletableFuture().get().orElseThrow();
  }

  /**
   * The row once it shows status: taken-by-a-hub and delivered are written with a later commit (within
   * status-write-delay), not before the entity goes on; TIMEOUT is only a hang guard.
   */
  private WebhookTable.Row writtenRow(String id, String status) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    WebhookTable.Row row = row(id);
    while (!row.status().equals(status) && System.nanoTime() < deadline) {
      Thread.sleep(5);
      row = row(id);
    }
    return row;
  }

  private String ingest(String body) {
    String id = java.util.UUID.randomUUID().toString();
    TestProbe<WebhookEndpoint.Ingested> reply = kit.createTestProbe();
    entity.tell(new WebhookEndpoint.Ingest(new WebhookEndpoint.Incoming(id, clock.instant(),
        Map.of("content-type", "application/json"), body.getBytes(StandardCharsets.UTF_8), Verdict.UNSIGNED, null),
        reply.ref()));
    WebhookEndpoint.Ingested ingested = reply.receiveMessage(TIMEOUT);
    assertEquals(id, ingested.webhookId());
    assertTrue(ingested.stored());
    return id;
  }

  private Offer expectOffer(String id, int attempt) {
    Offer offer = hubs.expectMessageClass(Offer.class, TIMEOUT);
    assertEquals(id, offer.webhookId());
    assertEquals(attempt, offer.attempt());
    assertEquals("home", offer.hubId());
    assertEquals("http://home.lan/hook", offer.destinationUrl());
    return offer;
  }

  private void accept(String id, int attempt) throws Exception {
    EndpointState s = run(new OfferResult(id, attempt, Outcome.ACCEPTED));
    assertEquals(DeliveryStatus.DISPATCHED, s.queued(id).orElseThrow().status());
    WebhookTable.Row row = writtenRow(id, "dispatched");
    assertEquals("dispatched", row.status());
    assertEquals(attempt, row.attempts());
  }

  private void noOffer() {
    hubs.expectNoMessage(Duration.ofMillis(50));
  }

  private static List<String> ids(EndpointState s) {
    return s.queue().stream().map(EndpointState.Webhook::id).toList();
  }

  @Test
  void deliversInOrder_retriesWithDoublingCappedBackoff() throws Exception {
    String first = ingest("{\"n\":1}");
    Offer offer = expectOffer(first, 1);
    assertArrayEquals("{\"n\":1}".getBytes(StandardCharsets.UTF_8), offer.payload());
    assertEquals("application/json", offer.headers().get("content-type"));
    String second = ingest("{\"n\":2}");
    noOffer(); // the first is in flight: the second waits
    accept(first, 1);

    List<Duration> delays = new ArrayList<>();
    for (int attempt = 1; attempt <= 5; attempt++) {
      EndpointState s = run(new Ack(first, false, 500, "HTTP 500", false));
      assertEquals(DeliveryStatus.RETRYING, s.head().orElseThrow().status());
      WebhookTable.Row row = row(first);
      assertEquals("retrying", row.status());
      assertEquals(500, row.lastStatusCode());
      Duration delay = Duration.between(clock.instant(), s.head().orElseThrow().nextRetryAt());
      assertEquals(s.head().orElseThrow().nextRetryAt().toEpochMilli(), row.nextRetryAt().toEpochMilli());
      delays.add(delay);
      // Not yet due: nothing is offered, the second still waits.
      clock.advance(delay.minusMillis(1));
      run(WebhookEndpoint.Sweep.INSTANCE);
      noOffer();
      clock.advance(Duration.ofMillis(1));
      run(WebhookEndpoint.Sweep.INSTANCE);
      expectOffer(first, attempt + 1);
      accept(first, attempt + 1);
    }
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(8),
        Duration.ofSeconds(8)), delays, "1 s doubling, capped at the configured maximum");

    EndpointState delivered = run(new Ack(first, true, 200, "", false));
    assertEquals(List.of(second), ids(delivered));
    assertEquals("delivered", writtenRow(first, "delivered").status());
    assertEquals(200, row(first).lastStatusCode());
    expectOffer(second, 1); // the next one goes at once
    accept(second, 1);
    EndpointState done = run(new Ack(second, true, 204, "", false));
    assertTrue(done.queue().isEmpty());
    assertTrue(done.parked().isEmpty());
  }

  @Test
  void permanentFailureLeavesTheQueue_replayPutsItBack() throws Exception {
    String first = ingest("a");
    String second = ingest("b");
    expectOffer(first, 1);
    accept(first, 1);
    EndpointState failed = run(new Ack(first, false, 404, "HTTP 404", true));
    assertEquals(List.of(second), ids(failed));
    assertEquals("failed", row(first).status());
    assertEquals(404, row(first).lastStatusCode());
    expectOffer(second, 1); // the failed one no longer blocks the queue

    assertEquals(WebhookEndpoint.ReplayResult.NOT_REPLAYABLE, replay(second));
    assertEquals(WebhookEndpoint.ReplayResult.NOT_FOUND, replay("nope"));
    assertEquals(WebhookEndpoint.ReplayResult.REPLAYED, replay(first));
    assertEquals(List.of(second, first), ids(state()), "replayed to the back of the queue");
    assertEquals("received", row(first).status());

    // Restarted here, the queue reads back in the same order (the replayed one after the other).
    restart();
    assertEquals(List.of(second, first), ids(state()));
    expectOffer(second, 1);
    accept(second, 1);
    run(new Ack(second, true, 200, "", false));
    expectOffer(first, 2); // attempts keep counting across the replay
  }

  private WebhookEndpoint.ReplayResult replay(String id) {
    TestProbe<WebhookEndpoint.ReplayResult> probe = kit.createTestProbe();
    entity.tell(new WebhookEndpoint.Replay(id, probe.ref()));
    return probe.receiveMessage(TIMEOUT);
  }

  private void restart() {
    TestProbe<Object> watcher = kit.createTestProbe();
    entity.tell(WebhookEndpoint.Passivate.INSTANCE);
    watcher.expectTerminated(entity, TIMEOUT);
    entity = start(settings());
  }

  @Test
  void busyOrAbsentHubWaitsForKick_lostConnectionRequeues() throws Exception {
    String id = ingest("x");
    expectOffer(id, 1);
    run(new OfferResult(id, 1, Outcome.NO_HUB));
    assertEquals("received", row(id).status(), "nothing written for an offer nobody took");
    run(WebhookEndpoint.Sweep.INSTANCE);
    noOffer(); // waits for the hub (or the offer retry interval)
    run(DeliveryProtocol.Kick.INSTANCE);
    expectOffer(id, 1);
    run(new OfferResult(id, 1, Outcome.BUSY));
    clock.advance(Duration.ofSeconds(5));
    run(WebhookEndpoint.Sweep.INSTANCE);
    expectOffer(id, 1); // offer retry interval passed
    accept(id, 1);
    EndpointState requeued = run(new DeliveryProtocol.Requeue(id));
    assertEquals(DeliveryStatus.RETRYING, requeued.head().orElseThrow().status());
    assertEquals("retrying", row(id).status());
    expectOffer(id, 2);
    // An ack for a webhook the entity does not hold is ignored.
    assertEquals(ids(requeued), ids(run(new Ack("unknown", true, 200, "", false))));
  }

  /**
   * The hub connection's node crashed (so no Requeue comes): the webhook that connection accepted is offered
   * again at once, not after the ack timeout; news of another connection's end changes nothing.
   */
  @Test
  void aConnectionWhoseNodeLeftWithoutHandingBackIsOfferedAgainAtOnce() throws Exception {
    String id = ingest("x");
    expectOffer(id, 1);
    EndpointState taken = run(new OfferResult(id, 1, Outcome.ACCEPTED, "connection-on-b"));
    assertEquals(DeliveryStatus.DISPATCHED, taken.queued(id).orElseThrow().status());
    writtenRow(id, "dispatched");
    run(new DeliveryProtocol.HubGone("connection-on-c"));
    noOffer();
    EndpointState requeued = run(new DeliveryProtocol.HubGone("connection-on-b"));
    assertEquals(DeliveryStatus.RETRYING, requeued.head().orElseThrow().status());
    expectOffer(id, 2);
    run(new DeliveryProtocol.HubGone("connection-on-b"));
    noOffer(); // the new offer is not the lost connection's
  }

  @Test
  void aBurstOfIngestsIsStoredInArrivalOrder() throws Exception {
    TestProbe<WebhookEndpoint.Ingested> replies = kit.createTestProbe();
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      String id = endpointId + "-w" + i;
      sent.add(id);
      entity.tell(new WebhookEndpoint.Ingest(new WebhookEndpoint.Incoming(id, clock.instant(), Map.of(),
          new byte[] {(byte) i}, Verdict.UNSIGNED, null), replies.ref()));
    }
    List<String> acknowledged = replies.receiveSeveralMessages(200, TIMEOUT).stream()
        .map(WebhookEndpoint.Ingested::webhookId).toList();
    assertEquals(sent, acknowledged);
    assertEquals(sent, ids(state()));
    expectOffer(sent.get(0), 1); // only the head is offered
    noOffer();
    restart(); // the table holds them in the same order
    assertEquals(sent, ids(state()));
  }

  @Test
  void unansweredOfferAndMissingAckAreOfferedAgain() throws Exception {
    String id = ingest("x");
    expectOffer(id, 1); // ... and the answer is lost
    run(WebhookEndpoint.Sweep.INSTANCE);
    noOffer();
    clock.advance(Duration.ofSeconds(5));
    run(WebhookEndpoint.Sweep.INSTANCE);
    expectOffer(id, 1);
    accept(id, 1); // the hub took it but never acknowledges
    clock.advance(Duration.ofMinutes(5).minusMillis(1));
    run(WebhookEndpoint.Sweep.INSTANCE);
    noOffer();
    clock.advance(Duration.ofMillis(1));
    run(WebhookEndpoint.Sweep.INSTANCE);
    assertEquals("retrying", row(id).status());
    expectOffer(id, 2);
  }

  /**
   * Taken-by-a-hub and delivered are not waited for: with a status-write-delay nothing reaches here, the
   * next webhook is offered while the delivered one's row still says received, and the waiting writes are
   * committed together when the writer drains (as a clean shutdown does).
   */
  @Test
  void deliveredIsNotWaitedFor_theNextIsOfferedBeforeItsRowIsWritten() throws Exception {
    WebhookSettings neverAlone = settings("status-write-delay = 1h");
    WebhookWriter lazyWriter = new WebhookWriter(kit.system(), table, neverAlone, new WebhookMetrics(0));
    TestProbe<Object> watcher = kit.createTestProbe();
    entity.tell(WebhookEndpoint.Passivate.INSTANCE);
    watcher.expectTerminated(entity, TIMEOUT);
    entity = kit.spawn(WebhookEndpoint.create(endpointId, neverAlone, id -> Optional.of(definition),
        id -> java.util.concurrent.CompletableFuture.completedFuture(true), hubs.ref()::tell,
        () -> { }, table, lazyWriter, clock, new WebhookMetrics(0)));
    String first = ingest("one");
    String second = ingest("two");
    expectOffer(first, 1);
    EndpointState taken = run(new OfferResult(first, 1, Outcome.ACCEPTED));
    assertEquals(DeliveryStatus.DISPATCHED, taken.queued(first).orElseThrow().status());
    EndpointState delivered = run(new Ack(first, true, 200, "", false));
    assertEquals(List.of(second), ids(delivered));
    expectOffer(second, 1);
    assertEquals("received", row(first).status(), "neither status write committed yet");
    lazyWriter.drainLater().toCompletableFuture().get();
    assertEquals("delivered", row(first).status());
    assertEquals(1, row(first).attempts());
    assertEquals(200, row(first).lastStatusCode());
  }

  @Test
  void aRepeatedAcceptIsNotWrittenAgain() throws Exception {
    String id = ingest("x");
    expectOffer(id, 1);
    accept(id, 1);
    EndpointState repeated = run(new OfferResult(id, 1, Outcome.ACCEPTED));
    assertEquals(1, repeated.queued(id).orElseThrow().attempts());
    assertEquals(1, row(id).attempts());
  }

  @Test
  void deadLettersAfterTheConfiguredAge() throws Exception {
    String old = ingest("old");
    expectOffer(old, 1);
    accept(old, 1);
    run(new Ack(old, false, 503, "HTTP 503", false));
    clock.advance(Duration.ofMinutes(30));
    String young = ingest("young");
    expectOffer(old, 2); // the retry is due: offered, but no hub is there
    run(new OfferResult(old, 2, Outcome.NO_HUB));
    clock.advance(Duration.ofMinutes(30));
    EndpointState swept = run(WebhookEndpoint.Sweep.INSTANCE);
    assertEquals(List.of(young), ids(swept));
    assertEquals("dead_lettered", row(old).status());
    expectOffer(young, 1); // the dead letter left the queue; the younger one is next
    assertEquals(WebhookEndpoint.ReplayResult.REPLAYED, replay(old));
  }

  @Test
  void recoversExactlyWhereItStopped() throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      ids.add(ingest("n" + i));
    }
    expectOffer(ids.get(0), 1);
    accept(ids.get(0), 1);
    run(new Ack(ids.get(0), true, 200, "", false));
    expectOffer(ids.get(1), 1);
    accept(ids.get(1), 1);
    run(new Ack(ids.get(1), false, 404, "gone", true));
    expectOffer(ids.get(2), 1);
    accept(ids.get(2), 1);
    EndpointState before = run(new Ack(ids.get(2), false, 500, "boom", false));

    restart();
    EndpointState after = state();
    assertEquals(before.queue().stream().map(w -> w.id() + w.status() + w.attempts() + w.nextRetryAt()).toList(),
        after.queue().stream().map(w -> w.id() + w.status() + w.attempts() + w.nextRetryAt()).toList());
    assertEquals(10, after.queue().size());
    clock.advance(Duration.ofSeconds(1));
    run(WebhookEndpoint.Sweep.INSTANCE);
    Offer resumed = expectOffer(ids.get(2), 2); // the head resumes with its retry, nothing skipped
    assertArrayEquals("n2".getBytes(StandardCharsets.UTF_8), resumed.payload(),
        "the payload is read back from the table");
    assertEquals("application/json", resumed.headers().get("content-type"));
  }

  /** With no payload held in memory, every offer reads the payload back by id: same bytes and headers. */
  @Test
  void payloadsNotHeldInMemoryAreReadBackFromTheTable() throws Exception {
    TestProbe<Object> watcher = kit.createTestProbe();
    entity.tell(WebhookEndpoint.Passivate.INSTANCE);
    watcher.expectTerminated(entity, TIMEOUT);
    WebhookSettings noneHeld = settings("held-payload-bytes = 0");
    entity = start(noneHeld);
    String id = ingest("{\"read\":\"back\"}");
    Offer offer = expectOffer(id, 1);
    assertArrayEquals("{\"read\":\"back\"}".getBytes(StandardCharsets.UTF_8), offer.payload());
    assertEquals(Map.of("content-type", "application/json"), offer.headers());
  }
}
