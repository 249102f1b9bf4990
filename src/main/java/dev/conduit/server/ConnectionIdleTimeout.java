package dev.conduit.server;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * A connection with no bytes in either direction for {@code timeout} fails (which closes it), like
 * pekko's {@code BidiFlow.bidirectionalIdleTimeout}, with two differences that matter at 10,000 idle
 * sockets: one timer per connection that fires once per {@code timeout} (re-armed for the remainder
 * of the current wait) instead of a check every eighth of it; and none at all once {@code exempt}
 * holds when it fires, for an upgraded WebSocket, which the server pings and the tunnel's own timers
 * close (instance-timeout, client-idle-timeout). Shape: top (in1 to out1) carries the bytes towards
 * the wire, bottom (in2 to out2) the bytes from it; a direction's end or cancellation passes through.
 */
public final class ConnectionIdleTimeout extends GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>> {
  private static final String TIMER = "connection-idle";

  private final Inlet<ByteString> in1 = Inlet.create("ConnectionIdleTimeout.in1");
  private final Outlet<ByteString> out1 = Outlet.create("ConnectionIdleTimeout.out1");
  private final Inlet<ByteString> in2 = Inlet.create("ConnectionIdleTimeout.in2");
  private final Outlet<ByteString> out2 = Outlet.create("ConnectionIdleTimeout.out2");
  private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape = BidiShape.of(in1, out1, in2, out2);
  private final Duration timeout;
  private final BooleanSupplier exempt;
  private final LongSupplier nanoClock;

  /** @param nanoClock {@link System#nanoTime} in production; the tests' manual clock beside ManualTime */
  public ConnectionIdleTimeout(Duration timeout, BooleanSupplier exempt, LongSupplier nanoClock) {
    this.timeout = timeout;
    this.exempt = exempt;
    this.nanoClock = nanoClock;
  }

  @Override
  public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      private long lastActivity;

      {
        passAlong(in1, out1);
        passAlong(in2, out2);
      }

      private void passAlong(Inlet<ByteString> in, Outlet<ByteString> out) {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            lastActivity = nanoClock.getAsLong();
            push(out, grab(in));
          }

          @Override
          public void onUpstreamFinish() {
            complete(out);
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(in);
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            cancel(in, cause);
          }
        });
      }

      @Override
      public void preStart() {
        lastActivity = nanoClock.getAsLong();
        scheduleOnce(TIMER, timeout);
      }

      @Override
      public void onTimer(Object key) {
        if (exempt.getAsBoolean()) {
          return; // for good: nothing re-arms it
        }
        long left = timeout.toNanos() - (nanoClock.getAsLong() - lastActivity);
        if (left > 0) {
          scheduleOnce(TIMER, Duration.ofNanos(left));
        } else {
          failStage(new TimeoutException("No bytes either way within " + Durations.text(timeout)));
        }
      }
    };
  }
}
