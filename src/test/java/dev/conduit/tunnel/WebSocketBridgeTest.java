package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The bridge between a socket's messages and its actor, run without a socket: the actor learns of the
 * socket's start and end from the moment it exists, even when the peer sends no frame at all (a lazy sink
 * there would leave such an actor to its own timers).
 */
class WebSocketBridgeTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Materializer MAT = Materializer.matFromSystem(KIT.system());
  /** Guards against a hang only. */
  private static final Duration RECEIVE = Duration.ofSeconds(10);

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  @Test
  void aPeerThatLeavesWithoutAFrameStillClosesTheActorsSide() {
    TestProbe<SocketEvent> owner = KIT.createTestProbe();
    WebSocketBridge.Ending ending = new WebSocketBridge.Ending(Duration.ofSeconds(5), "test socket");
    Source.<Message>empty()
        .via(WebSocketBridge.flow(TunnelRoutes.clientQueue(TunnelHarness.settings()),
            queue -> CompletableFuture.completedFuture(owner.ref()), ending, 1 << 20, 256 * 1024,
            Duration.ofSeconds(10), MAT))
        .runWith(Sink.ignore(), MAT);

    SocketEvent.Opened opened = assertInstanceOf(SocketEvent.Opened.class, owner.receiveMessage(RECEIVE));
    opened.ackTo().tell(SocketEvent.Ack.INSTANCE);
    assertInstanceOf(SocketEvent.Closed.class, owner.receiveMessage(RECEIVE));
  }

  /** The registry could not give the socket an actor: the socket fails (its queue is failed with the cause). */
  @Test
  void anOwnerThatCannotBeHadFailsTheSocket() {
    WebSocketBridge.Ending ending = new WebSocketBridge.Ending(Duration.ofSeconds(5), "test socket");
    var written = Source.<Message>maybe()
        .via(WebSocketBridge.flow(TunnelRoutes.clientQueue(TunnelHarness.settings()),
            queue -> CompletableFuture.failedFuture(new IllegalStateException("no actor")), ending, 1 << 20,
            256 * 1024, Duration.ofSeconds(10), MAT))
        .runWith(Sink.seq(), MAT);
    ExecutionException failed = assertThrows(ExecutionException.class,
        () -> written.toCompletableFuture().get(RECEIVE.toMillis(), TimeUnit.MILLISECONDS));
    assertInstanceOf(IllegalStateException.class, failed.getCause());
  }
}
