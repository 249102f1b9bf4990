package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Timer and clock both manual. The stage keeps one timer per connection across requests (not one per
 * request): a timer set for an earlier wait must neither close a connection whose requests keep coming
 * within the timeout of each other, nor be lost, so that the connection still closes once it goes quiet.
 */
class RequestHeadTimeoutTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STEP = Duration.ofSeconds(20);
  /** Hang guard for an element or an end that must come. */
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ActorTestKit KIT = ActorTestKit.create(ManualTime.config());
  private static final ManualTime TIME = ManualTime.get(KIT.system());

  private final AtomicLong nanos = new AtomicLong();
  private final AtomicInteger timeouts = new AtomicInteger();

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private Pair<BoundedSourceQueue<HttpRequest>, SinkQueueWithCancel<HttpRequest>> start() {
    return Source.<HttpRequest>queue(16)
        .via(new RequestHeadTimeout(TIMEOUT, timeouts::incrementAndGet, nanos::get))
        .toMat(Sink.queue(), Keep.both())
        .run(KIT.system());
  }

  private void advance(Duration step) {
    nanos.addAndGet(step.toNanos());
    TIME.timePasses(step);
  }

  private static Optional<HttpRequest> next(SinkQueueWithCancel<HttpRequest> handler) throws Exception {
    return handler.pull().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Test
  void aBusyConnectionOutlivesTheTimeoutAndClosesOnceQuiet() throws Exception {
    var connection = start();
    // Each request arrives a third of the timeout after the handler became ready for it, for five timeouts.
    for (int i = 0; i < 15; i++) {
      connection.first().offer(HttpRequest.create("/" + i));
      assertEquals("/" + i, next(connection.second()).orElseThrow().getUri().path());
      advance(STEP);
    }
    assertEquals(0, timeouts.get());
    // Quiet from here (the last request was taken 20 s ago): closed once its wait reaches the timeout.
    advance(TIMEOUT.minus(STEP));
    assertEquals(Optional.empty(), next(connection.second()), "the stage completed, closing the connection");
    assertEquals(1, timeouts.get());
  }

  @Test
  void aConnectionThatSendsNoFurtherHeadIsClosedAtTheTimeout() throws Exception {
    var connection = start();
    // Let the stage start (and arm its timer) before time moves: it is ready once the sink has pulled.
    connection.first().offer(HttpRequest.create("/first"));
    assertTrue(next(connection.second()).isPresent());
    advance(TIMEOUT.minus(Duration.ofSeconds(1)));
    assertEquals(0, timeouts.get());
    advance(Duration.ofSeconds(1));
    assertEquals(Optional.empty(), next(connection.second()));
    assertEquals(1, timeouts.get());
  }
}
