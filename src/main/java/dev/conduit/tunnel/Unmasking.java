package dev.conduit.tunnel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameError;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;

/**
 * Server-side unmasking of inbound WebSocket frames (RFC 6455 5.3), in the place of pekko-http's
 * {@code Masking} stage and with its behaviour: every frame from a client must be masked (else a
 * {@code FrameError} with a {@code ProtocolException}, and the rest of the input is ignored, so
 * pekko-http's frame handler closes with 1002); the data of a frame, over all the parts it arrives in, is
 * XORed with the frame's 4-byte key, and the header goes on without a mask.
 *
 * <p>Why ours: pekko-http's copies each part and XORs it a byte at a time with a rotated int; JFR put that
 * at 6 % of the relay's CPU at 1 KiB frames. This XORs eight bytes a step.
 */
final class Unmasking extends GraphStage<FlowShape<FrameEvent, FrameEventOrError>> {
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final Inlet<FrameEvent> in = Inlet.create("Unmasking.in");
  private final Outlet<FrameEventOrError> out = Outlet.create("Unmasking.out");
  private final FlowShape<FrameEvent, FrameEventOrError> shape = FlowShape.of(in, out);

  @Override
  public FlowShape<FrameEvent, FrameEventOrError> shape() {
    return shape;
  }

  /**
   * data XORed with mask as RFC 6455 masks: byte i with byte (i mod 4) of the key, the key's first byte being
   * mask's most significant (pekko-http's {@code FrameHeader.mask}). Returns the unmasked copy; the mask for
   * the data that follows in the same frame is {@link #maskAfter}.
   */
  static ByteString unmask(ByteString data, int mask) {
    byte[] bytes = new byte[data.size()];
    data.copyToBuffer(ByteBuffer.wrap(bytes)); // a bulk copy (ByteString.toArray goes through Scala's generic one)
    int key = Integer.reverseBytes(mask); // the key's bytes in memory order, read little-endian
    long key8 = (key & 0xFFFFFFFFL) | ((long) key << 32);
    int i = 0;
    for (; i + Long.BYTES <= bytes.length; i += Long.BYTES) {
      LONGS.set(bytes, i, (long) LONGS.get(bytes, i) ^ key8);
    }
    for (; i < bytes.length; i++) {
      bytes[i] ^= (byte) (mask >>> (24 - 8 * (i & 3)));
    }
    return ByteString.fromArrayUnsafe(bytes);
  }

  /** The key for the data that follows length bytes of a frame masked with mask (the key turned by length). */
  static int maskAfter(int mask, int length) {
    return Integer.rotateLeft(mask, 8 * (length & 3));
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      /** The key for the next part of the frame being unmasked. */
      private int mask;
      /** A frame's parts are still coming. */
      private boolean inFrame;
      /** An unmasked frame came: everything after it is ignored (the frame handler closes the socket). */
      private boolean refused;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            FrameEvent event = grab(in);
            if (refused) {
              pull(in);
            } else if (event instanceof FrameStart start) {
              FrameHeader header = start.header();
              if (header.mask().isEmpty()) {
                refused = true;
                push(out, new FrameError(new ProtocolException("Frame wasn't masked")));
                return;
              }
              int key = (Integer) header.mask().get();
              ByteString data = unmask(start.data(), key);
              mask = maskAfter(key, start.data().size());
              inFrame = !start.lastPart();
              push(out, new FrameStart(header.copy(header.opcode(), Option.empty(), header.length(), header.fin(),
                  header.rsv1(), header.rsv2(), header.rsv3()), data));
            } else if (inFrame) {
              FrameData part = (FrameData) event;
              ByteString data = unmask(part.data(), mask);
              mask = maskAfter(mask, part.data().size());
              inFrame = !part.lastPart();
              push(out, new FrameData(data, part.lastPart()));
            } else {
              failStage(new IllegalStateException("unexpected FrameData (need FrameStart first)"));
            }
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
