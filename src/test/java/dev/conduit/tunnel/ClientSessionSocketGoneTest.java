package dev.conduit.tunnel;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression (found by the fuzz suite): a client session told to close after its socket had already
 * gone (its outbound queue done) crashed on completing that queue ("The queue has already been
 * completed"). It must stop quietly.
 */
class ClientSessionSocketGoneTest {
  private static final java.time.Duration QUEUE_DONE_HANG_GUARD = java.time.Duration.ofSeconds(30);

  private final TunnelHarness harness = new TunnelHarness(TunnelHarness.settings(), 100);

  @AfterEach
  void stop() {
    harness.close();
  }

  @Test
  void closingAfterTheSocketWentStopsWithoutAFailure() throws Exception {
    Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> outbound =
        TunnelRoutes.clientOutbound(harness.settings, harness.materializer);
    TestProbe<ActorRef<ClientSession.Command>> reply = harness.testKit.createTestProbe();
    harness.registry.tell(new TunnelRegistry.AcceptClient(outbound.first(), "10.0.0.9", reply.ref()));
    ActorRef<ClientSession.Command> session = reply.receiveMessage();
    TestProbe<SocketEvent.Ack> acks = harness.testKit.createTestProbe();
    session.tell(new SocketEvent.Opened(acks.ref()));
    acks.expectMessage(SocketEvent.Ack.INSTANCE);
    // The socket's side goes away: the queue's stream is cancelled, so the queue is done.
    outbound.second().runWith(Sink.cancelled(), harness.materializer);
    // A hang guard, not a deadline: the pre-materialized queue is cancelled when its publisher sees the
    // subscriber cancel, or, if the cancel overtakes the subscription, only at pekko's subscription
    // timeout (5 s): the harness's 5 s receive time lost that race about once in five suite runs.
    outbound.first().watchCompletion().toCompletableFuture().get(QUEUE_DONE_HANG_GUARD.toMillis(), TimeUnit.MILLISECONDS);
    TestProbe<Object> watcher = harness.testKit.createTestProbe();
    LoggingTestKit.error(IllegalStateException.class).withOccurrences(0).expect(harness.testKit.system(), () -> {
      session.tell(ClientSession.InstanceGone.INSTANCE);
      watcher.expectTerminated(session, TunnelHarness.RECEIVE);
      return null;
    });
  }
}
