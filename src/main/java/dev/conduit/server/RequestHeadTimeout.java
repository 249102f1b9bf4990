package dev.conduit.server;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;

/**
 * First stage of an HTTP/1.1 connection's request handler: from the moment the handler is ready for
 * the next request (connection opened, or previous response sent) the connection has timeout to
 * deliver a complete request head; otherwise the stage completes, which closes the connection.
 * pekko-http's own idle timeout restarts on every byte, so a client trickling a header (slowloris,
 * or a half-sent WebSocket upgrade) would hold the socket for ever; and a keep-alive connection
 * that sends nothing is closed after the same time. onTimeout runs when it fires (for a log line).
 */
public final class RequestHeadTimeout extends GraphStage<FlowShape<HttpRequest, HttpRequest>> {
  private static final String TIMER = "request-head";
  /** Not waiting for a request head (one is being handled). */
  private static final long WAITING_NONE = Long.MIN_VALUE;

  private final Inlet<HttpRequest> in = Inlet.create("RequestHeadTimeout.in");
  private final Outlet<HttpRequest> out = Outlet.create("RequestHeadTimeout.out");
  private final FlowShape<HttpRequest, HttpRequest> shape = FlowShape.of(in, out);
  private final Duration timeout;
  private final Runnable onTimeout;
  private final LongSupplier nanoClock;

  /** @param nanoClock {@link System#nanoTime} in production; the tests' manual clock beside ManualTime */
  public RequestHeadTimeout(Duration timeout, Runnable onTimeout, LongSupplier nanoClock) {
    this.timeout = timeout;
    this.onTimeout = onTimeout;
    this.nanoClock = nanoClock;
  }

  @Override
  public FlowShape<HttpRequest, HttpRequest> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      /** System.nanoTime when the handler became ready for the next head; WAITING_NONE while a request is handled. */
      private long waitingSince = WAITING_NONE;
      private boolean timerSet;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            // The timer is left running (no cancel): re-arming it per request scheduled and cancelled one
            // timer per request, a measurable share of the edge's CPU under webhook ingest. When it fires it
            // checks the wait that is current then.
            waitingSince = WAITING_NONE;
            push(out, grab(in));
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            waitingSince = nanoClock.getAsLong();
            if (!timerSet) {
              arm(timeout.toNanos());
            }
            pull(in);
          }
        });
      }

      private void arm(long nanos) {
        timerSet = true;
        scheduleOnce(TIMER, Duration.ofNanos(nanos));
      }

      @Override
      public void onTimer(Object key) {
        timerSet = false;
        if (waitingSince == WAITING_NONE) {
          return; // a request is being handled: the next pull re-arms
        }
        long left = timeout.toNanos() - (nanoClock.getAsLong() - waitingSince);
        if (left > 0) {
          arm(left); // this wait began after the timer was set
          return;
        }
        onTimeout.run();
        completeStage();
      }
    };
  }
}
