package dev.conduit.server;

import java.util.function.Predicate;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * A connection's bytes, unchanged, except that the first element is held back until the opening bytes
 * tell what the peer speaks, however the network split them: while {@code undecided} holds for the
 * bytes so far, more are read; then the opening goes out as one element (or, when {@code refused}
 * holds for it, {@code onRefused} runs and the stage completes, which closes the connection) and the
 * rest flows through untouched. A connection that ends while undecided passes on what it sent.
 */
class OpeningBytes extends GraphStage<FlowShape<ByteString, ByteString>> {
  private final Inlet<ByteString> in = Inlet.create("OpeningBytes.in");
  private final Outlet<ByteString> out = Outlet.create("OpeningBytes.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final Predicate<ByteString> undecided;
  private final Predicate<ByteString> refused;
  private final Runnable onRefused;

  OpeningBytes(Predicate<ByteString> undecided, Predicate<ByteString> refused, Runnable onRefused) {
    this.undecided = undecided;
    this.refused = refused;
    this.onRefused = onRefused;
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      /** The opening bytes while undecided; null once the opening has gone out. */
      private ByteString opening = ByteString.emptyByteString();

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ByteString chunk = grab(in);
            if (opening == null) {
              push(out, chunk);
              return;
            }
            opening = opening.concat(chunk);
            if (undecided.test(opening)) {
              pull(in);
              return;
            }
            if (refused.test(opening)) {
              onRefused.run();
              completeStage();
              return;
            }
            ByteString decided = opening;
            opening = null;
            push(out, decided);
          }

          @Override
          public void onUpstreamFinish() {
            if (opening != null && !opening.isEmpty()) {
              emit(out, opening);
            }
            completeStage();
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(in);
          }
        });
      }
    };
  }
}
