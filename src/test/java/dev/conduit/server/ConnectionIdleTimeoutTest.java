package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Timer and clock both manual: a connection is failed once no byte has passed either way for the timeout,
 * a byte in either direction restarts the wait, and an exempt (upgraded) connection is never failed.
 */
class ConnectionIdleTimeoutTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STEP = Duration.ofSeconds(20);
  private static final ActorTestKit KIT = ActorTestKit.create(ManualTime.config());
  private static final ManualTime TIME = ManualTime.get(KIT.system());

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  /** Bytes from the wire go up through the stage to an echo, which sends them back down towards the wire. */
  private record Wire(BoundedSourceQueue<ByteString> inbound, SinkQueueWithCancel<ByteString> outbound) {
    /** The next outbound element, or the failure that ended the connection. */
    Optional<ByteString> next() throws Exception {
      return outbound.pull().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    Throwable failure() throws Exception {
      try {
        return new AssertionError("not failed: " + next());
      } catch (ExecutionException e) {
        return e.getCause();
      }
    }
  }

  /** Hang guard for an element or a failure that must come. */
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final AtomicLong nanos = new AtomicLong();

  private Wire start(AtomicBoolean exempt) throws Exception {
    BidiFlow<ByteString, ByteString, ByteString, ByteString, ?> idle = BidiFlow.fromGraph(
        new ConnectionIdleTimeout(TIMEOUT, exempt::get, nanos::get));
    Pair<BoundedSourceQueue<ByteString>, SinkQueueWithCancel<ByteString>> wire = Source.<ByteString>queue(16)
        .via(Flow.<ByteString>create().join(idle))
        .toMat(Sink.queue(), Keep.both())
        .run(KIT.system());
    Wire started = new Wire(wire.first(), wire.second());
    // One round trip at time 0: the stage has started, so its timer is scheduled before time moves.
    stillOpen(started, "started");
    return started;
  }

  private void advance(Duration step) {
    nanos.addAndGet(step.toNanos());
    TIME.timePasses(step);
  }

  /** Nothing has ended the connection: an element sent now comes back. */
  private static void stillOpen(Wire wire, String text) throws Exception {
    wire.inbound().offer(ByteString.fromString(text));
    assertEquals(Optional.of(ByteString.fromString(text)), wire.next());
  }

  @Test
  void failsOnceNothingPassedForTheTimeout() throws Exception {
    Wire wire = start(new AtomicBoolean());
    advance(TIMEOUT);
    assertTrue(wire.failure() instanceof TimeoutException);
  }

  @Test
  void aByteInEitherDirectionRestartsTheWait() throws Exception {
    Wire wire = start(new AtomicBoolean());
    advance(TIMEOUT.minus(STEP));
    stillOpen(wire, "x"); // at 40 s: the wait now runs to 100 s
    advance(STEP); // 60 s: the timer fires and re-arms for the rest of the new wait
    advance(TIMEOUT.minus(STEP.multipliedBy(2))); // 80 s
    stillOpen(wire, "y"); // the wait now runs to 140 s
    advance(TIMEOUT.minus(STEP)); // 120 s
    stillOpen(wire, "z"); // to 180 s
    advance(TIMEOUT);
    assertTrue(wire.failure() instanceof TimeoutException);
  }

  @Test
  void anExemptConnectionIsNeverFailed() throws Exception {
    AtomicBoolean exempt = new AtomicBoolean(true);
    Wire wire = start(exempt);
    advance(TIMEOUT.multipliedBy(10));
    stillOpen(wire, "still open");
    wire.inbound().complete();
    assertEquals(Optional.empty(), wire.next());
  }
}
