package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.auth.HubAuthenticator;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.TestClock;
import dev.conduit.webhook.WebhookEndpoint;
import java.time.Duration;
import java.time.Instant;
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
  private TestProbe<Pair<String, WebhookEndpoint.Command>> endpoints;
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
        (id, message) -> endpoints.ref().tell(Pair.create(id, message)), clock));
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

  private static WebhookEnvelope envelope(String id) {
    return WebhookEnvelope.newBuilder().setId(id).setEndpointId("e").setPayload(ByteString.copyFromUtf8(id)).build();
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

    TestProbe<WebhookEndpoint.Command> endpoint = KIT.createTestProbe();
    connection.tell(new HubConnection.Offer("A", envelope("w1"), 1, endpoint.ref()));
    connection.tell(new HubConnection.Offer("A", envelope("w2"), 1, endpoint.ref()));
    connection.tell(new HubConnection.Offer("B", envelope("w3"), 1, endpoint.ref()));
    assertEquals(WebhookEndpoint.Outcome.ACCEPTED, endpoint.expectMessageClass(WebhookEndpoint.OfferResult.class).outcome());
    assertEquals(WebhookEndpoint.Outcome.ACCEPTED, endpoint.expectMessageClass(WebhookEndpoint.OfferResult.class).outcome());
    WebhookEndpoint.OfferResult busy = endpoint.expectMessageClass(WebhookEndpoint.OfferResult.class);
    assertEquals(WebhookEndpoint.Outcome.BUSY, busy.outcome(), "max outstanding is 2");
    assertEquals("w3", busy.webhookId());
    assertEquals("w1", responses.receiveMessage().getWebhook().getId());
    assertEquals("w2", responses.receiveMessage().getWebhook().getId());

    connection.tell(ack("w1"));
    Pair<String, WebhookEndpoint.Command> acked = endpoints.receiveMessage();
    assertEquals("A", acked.first());
    assertEquals("w1", ((WebhookEndpoint.Ack) acked.second()).webhookId());
    Pair<String, WebhookEndpoint.Command> kicked = endpoints.receiveMessage();
    assertEquals(Pair.create("B", (WebhookEndpoint.Command) WebhookEndpoint.Kick.INSTANCE), kicked,
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
    Pair<String, WebhookEndpoint.Command> requeued = endpoints.receiveMessage();
    assertEquals("A", requeued.first());
    assertEquals(new WebhookEndpoint.Requeue("w2"), requeued.second(), "the unacknowledged webhook goes back");
    registry.expectTerminated(connection);
  }

  /** Regression: a webhook offered again while this stream holds it was sent twice, and the hub got it twice. */
  @Test
  void offeredAgainWhileOutstanding_isAcceptedButNotSentTwice() {
    connect();
    TestProbe<WebhookEndpoint.Command> endpoint = KIT.createTestProbe();
    connection.tell(new HubConnection.Offer("A", envelope("w1"), 1, endpoint.ref()));
    connection.tell(new HubConnection.Offer("A", envelope("w1"), 1, endpoint.ref()));
    connection.tell(new HubConnection.Offer("B", envelope("w2"), 1, endpoint.ref()));
    for (String id : new String[] {"w1", "w1", "w2"}) {
      WebhookEndpoint.OfferResult result = endpoint.expectMessageClass(WebhookEndpoint.OfferResult.class);
      assertEquals(id, result.webhookId());
      assertEquals(WebhookEndpoint.Outcome.ACCEPTED, result.outcome(), "w1 counts once towards max outstanding (2)");
    }
    assertEquals("w1", responses.receiveMessage().getWebhook().getId());
    assertEquals("w2", responses.receiveMessage().getWebhook().getId(), "w1 is on the stream once");
    responses.expectNoMessage(NONE);
    connection.tell(ack("w1"));
    assertEquals("w1", ((WebhookEndpoint.Ack) endpoints.receiveMessage().second()).webhookId());
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
