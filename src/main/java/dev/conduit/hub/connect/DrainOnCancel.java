package dev.conduit.hub.connect;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * Passes elements on; when downstream cancels, keeps reading (and dropping) from upstream until it completes
 * or until responseDone completes. Why: the hub connection stops consuming the request when it ends a stream
 * (eviction, replacement, refusal); cancelling an HTTP/2 request body that is still open makes pekko-http
 * reset the whole stream, and the end-stream message with the reason would never reach the hub.
 */
final class DrainOnCancel<T> extends GraphStage<FlowShape<T, T>> {
  private final Inlet<T> in = Inlet.create("DrainOnCancel.in");
  private final Outlet<T> out = Outlet.create("DrainOnCancel.out");
  private final CompletionStage<?> responseDone;

  DrainOnCancel(CompletionStage<?> responseDone) {
    this.responseDone = responseDone;
  }

  @Override
  public FlowShape<T, T> shape() {
    return FlowShape.of(in, out);
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new GraphStageLogic(shape()) {
      private boolean draining;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            T element = grab(in);
            if (draining) {
              pull(in);
            } else {
              push(out, element);
            }
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(in);
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            draining = true;
            if (!hasBeenPulled(in) && !isClosed(in)) {
              pull(in);
            }
          }
        });
      }

      @Override
      public void preStart() {
        AsyncCallback<Object> done = createAsyncCallback(ignored -> completeStage());
        responseDone.whenComplete((result, failure) -> done.invoke(result == null ? "done" : result));
      }
    };
  }
}
