package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.testing.TestClock;
import dev.conduit.webhook.DeliveryProtocol;
import dev.conduit.webhook.DeliveryProtocol.OfferResult;
import dev.conduit.webhook.DeliveryProtocol.Outcome;
import dev.conduit.webhook.DeliveryProtocol.ToEndpoint;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A hub connection's timers (heartbeat, stale eviction, connect timeout) under ManualTime, and its flow control. */
class HubConnectionTest {
  private static final ActorTestKit KIT = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  private static final ManualTime TIME = ManualTime.get(KIT.system());
  private static final Duration NONE = Duration.ofMillis(100);

  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final HubSettings settings = new HubSettings(Map.of("home", "s3cret"), false, 0, "127.0.0.1", "", "", Duration.ofSeconds(300), 100,
      Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(10), 2, 4096, 65536);
  private TestProbe<StreamResponse> responses;
  private TestProbe<String> ended;
  private TestProbe<HubRegistry.Command> registry;
  private TestProbe<Pair<String, ToEndpoint>> endpoints;
  private ActorRef<HubConnection.Command> connection;

  @BeforeEach
  void setUp() {
    responses = KIT.createTestProbe();
    ended = KIT.createTestProbe();
    registry = KIT.createTestProbe();
    endpoints = KIT.createTestProbe();
    Pair<BoundedSourceQueue<StreamResponse>, Source<StreamResponse, org.apache.pekko.NotUsed>> out =
        Source.<StreamResponse>queue(64).preMaterialize(KIT.system());
    out.second().runWith(Sink.foreach(responses.ref()::tell), KIT.system())
        .whenComplete((done, failure) -> ended.ref().tell(failure == null ? "completed" : failure.toString()));
    HubAuthenticator authenticator = new HubAuthenticator(settings.hubs(), clock, settings.authTolerance(), 100);
    connection = KIT.spawn(HubConnection.create(settings, authenticator, out.first(), registry.ref(),
        new DeliveryProtocol.Endpoints() {
          @Override
          public void tell(String endpointId, ToEndpoint message) {
            endpoints.ref().tell(Pair.create(endpointId, message));
          }

          @Override
          public List<String> ofHub(String hubId) {
            return List.of();
          }
        }, clock));
  }

  @AfterAll
  static void shutDown() {
    KIT.shutdownTestKit();
  }

  private void connect() {
    long now = clock.instant().getEpochSecond();
    connection.tell(new HubConnection.Incoming(StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder()
        .setHubId("home").setTimestamp(now).setSignature(HubSignature.sign("home", now, "s3cret"))).build()));
    assertTrue(responses.receiveMessage().getConnectResponse().getSuccess());
    assertEquals("home", registry.expectMessageClass(HubRegistry.Authenticated.class).hubId());
  }

  private static HubConnection.Offer offer(String endpointId, String id) {
    return new HubConnection.Offer(new DeliveryProtocol.Offer("home", endpointId, id, "http://home.lan/hook",
        Instant.EPOCH, Map.of(), id.getBytes(java.nio.charset.StandardCharsets.UTF_8), null, 1));
  }

  /** The next answer to an offer, sent to the endpoint by id. */
  private OfferResult offerResult(String endpointId) {
    Pair<String, ToEndpoint> answer = endpoints.receiveMessage();
    assertEquals(endpointId, answer.first());
    return (OfferResult) answer.second();
  }

  private static HubConnection.Incoming ack(String id) {
    return new HubConnection.Incoming(StreamRequest.newBuilder()
        .setAck(DeliveryAck.newBuilder().setWebhookId(id).setSuccess(true).setStatusCode(200)).build());
  }

  @Test
  void eachIncomingMessageIsAckedOnlyOnceHandled() {
    TestProbe<HubConnection.StreamAck> acks = KIT.createTestProbe();
    connection.tell(new HubConnection.StreamStarted(acks.ref()));
    acks.expectMessage(HubConnection.StreamAck.INSTANCE);
    long now = clock.instant().getEpochSecond();
    connection.tell(new HubConnection.Incoming(StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder()
        .setHubId("home").setTimestamp(now).setSignature(HubSignature.sign("home", now, "s3cret"))).build(), acks.ref()));
    assertTrue(responses.receiveMessage().getConnectResponse().getSuccess(), "handled first");
    acks.expectMessage(HubConnection.StreamAck.INSTANCE);
    connection.tell(new HubConnection.Incoming(StreamRequest.newBuilder()
        .setHeartbeat(Heartbeat.newBuilder().setTimestamp(now)).build(), acks.ref()));
    acks.expectMessage(HubConnection.StreamAck.INSTANCE);
  }

  @Test
  void heartbeatsEvery30s_evictsAfter60sOfSilence_requeuesOutstanding() {
    connect();
    TIME.timePasses(Duration.ofSeconds(30));
    assertTrue(responses.receiveMessage().hasHeartbeat(), "the edge sends a heartbeat every 30 s");
    TIME.timePasses(Duration.ofSeconds(15)); // t = 45 s: the hub speaks, the silence clock restarts
    connection.tell(new HubConnection.Incoming(StreamRequest.newBuilder()
        .setHeartbeat(Heartbeat.newBuilder().setTimestamp(1)).build()));

    connection.tell(offer("A", "w1"));
    connection.tell(offer("A", "w2"));
    connection.tell(offer("B", "w3"));
    assertEquals(Outcome.ACCEPTED, offerResult("A").outcome());
    assertEquals(Outcome.ACCEPTED, offerResult("A").outcome());
    OfferResult busy = offerResult("B");
    assertEquals(Outcome.BUSY, busy.outcome(), "max outstanding is 2");
    assertEquals("w3", busy.webhookId());
    assertEquals("w1", responses.receiveMessage().getWebhook().getId());
    assertEquals("w2", responses.receiveMessage().getWebhook().getId());

    connection.tell(ack("w1"));
    Pair<String, ToEndpoint> acked = endpoints.receiveMessage();
    assertEquals("A", acked.first());
    assertEquals("w1", ((DeliveryProtocol.Ack) acked.second()).webhookId());
    Pair<String, ToEndpoint> kicked = endpoints.receiveMessage();
    assertEquals(Pair.create("B", (ToEndpoint) DeliveryProtocol.Kick.INSTANCE), kicked,
        "the endpoint told BUSY is woken when there is room");
    connection.tell(ack("w1")); // a second ack for the same id: unknown now, ignored
    connection.tell(ack("foreign"));
    endpoints.expectNoMessage(NONE);

    TIME.timePasses(Duration.ofSeconds(59)); // t = 104 s: 59 s of silence
    assertTrue(responses.receiveMessage().hasHeartbeat());
    assertTrue(responses.receiveMessage().hasHeartbeat());
    ended.expectNoMessage(NONE);
    TIME.timePasses(Duration.ofSeconds(1)); // 60 s of silence: evicted
    String end = ended.receiveMessage();
    assertTrue(end.contains("UNAVAILABLE") && end.contains("stale"), end);
    Pair<String, ToEndpoint> requeued = endpoints.receiveMessage();
    assertEquals("A", requeued.first());
    assertEquals(new DeliveryProtocol.Requeue("w2"), requeued.second(), "the unacknowledged webhook goes back");
    registry.expectTerminated(connection);
  }

  /** Regression: a webhook offered again while this stream holds it was sent twice, and the hub got it twice. */
  @Test
  void offeredAgainWhileOutstanding_isAcceptedButNotSentTwice() {
    connect();
    connection.tell(offer("A", "w1"));
    connection.tell(offer("A", "w1"));
    connection.tell(offer("B", "w2"));
    for (String[] expected : new String[][] {{"A", "w1"}, {"A", "w1"}, {"B", "w2"}}) {
      OfferResult result = offerResult(expected[0]);
      assertEquals(expected[1], result.webhookId());
      assertEquals(Outcome.ACCEPTED, result.outcome(), "w1 counts once towards max outstanding (2)");
    }
    assertEquals("w1", responses.receiveMessage().getWebhook().getId());
    assertEquals("w2", responses.receiveMessage().getWebhook().getId(), "w1 is on the stream once");
    responses.expectNoMessage(NONE);
    connection.tell(ack("w1"));
    assertEquals("w1", ((DeliveryProtocol.Ack) endpoints.receiveMessage().second()).webhookId());
  }

  @Test
  void noConnectInTime_refusedAndEnded() {
    TIME.timePasses(Duration.ofSeconds(9));
    responses.expectNoMessage(NONE);
    TIME.timePasses(Duration.ofSeconds(1));
    StreamResponse refused = responses.receiveMessage();
    assertFalse(refused.getConnectResponse().getSuccess());
    assertEquals(HubConnection.CONNECT_TIMEOUT, refused.getConnectResponse().getError());
    assertEquals("completed", ended.receiveMessage());
    registry.expectTerminated(connection);
  }

  @Test
  void replacedConnectionEndsWithReason() {
    connect();
    connection.tell(HubConnection.Replaced.INSTANCE);
    String end = ended.receiveMessage();
    assertTrue(end.contains("ABORTED") && end.contains("replaced"), end);
    registry.expectTerminated(connection);
  }
}
