package dev.conduit.tunnel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/**
 * Inbound, unmasked WebSocket frames made whole before pekko-http's frame handler sees them: the parts
 * one frame arrived in (one per TCP read) are joined into one frame, and a complete, unfragmented text
 * frame of valid UTF-8 is handed on as a binary frame, so it reaches the relay as one strict
 * {@code BinaryMessage} of its UTF-8 bytes.
 *
 * <p>Why: a frame in parts became a streamed {@code TextMessage} (a sub-stream to materialise per frame)
 * and every text frame was UTF-8 decoded char by char into a String, only for the relay to encode it
 * again; JFR under a Node client showed these as the largest costs of the data path. The relay reads
 * text and binary frames alike as UTF-8 JSON, so the rewrite changes nothing it decides.
 *
 * <p>What stays pekko-http's: control frames, fragmented messages (several frames), frames longer than
 * {@code maxFrameBytes} (streamed, then refused as too large by the bridge without being kept) and text
 * frames that are not valid UTF-8 (pekko closes those with 1007, as RFC 6455 asks). A frame whose parts
 * do not all arrive within {@code assemblyTimeout} fails the connection, as a streamed message that
 * did not complete in time did.
 */
final class WholeFrames extends GraphStage<FlowShape<FrameEventOrError, FrameEventOrError>> {
  /** RFC 6455 opcodes of a text and a binary frame. */
  static final byte TEXT = 1;
  static final byte BINARY = 2;
  static final Protocol.Opcode TEXT_OPCODE = Protocol.Opcode$.MODULE$.forCode(TEXT);
  private static final Protocol.Opcode BINARY_OPCODE = Protocol.Opcode$.MODULE$.forCode(BINARY);

  private final Inlet<FrameEventOrError> in = Inlet.create("WholeFrames.in");
  private final Outlet<FrameEventOrError> out = Outlet.create("WholeFrames.out");
  private final FlowShape<FrameEventOrError, FrameEventOrError> shape = FlowShape.of(in, out);
  private final int maxFrameBytes;
  private final Duration assemblyTimeout;

  WholeFrames(int maxFrameBytes, Duration assemblyTimeout) {
    this.maxFrameBytes = maxFrameBytes;
    this.assemblyTimeout = assemblyTimeout;
  }

  @Override
  public FlowShape<FrameEventOrError, FrameEventOrError> shape() {
    return shape;
  }

  /** The frame's parts did not all arrive in time; an answer to a stalled peer, so without a stack trace. */
  static final class AssemblyTimeout extends RuntimeException {
    AssemblyTimeout(Duration timeout) {
      super("frame not whole within " + timeout, null, false, false);
    }
  }

  /** Valid UTF-8 (ASCII checked in one pass; anything else by the JDK's decoder). */
  static boolean isUtf8(ByteString data) {
    byte[] bytes = data.toArrayUnsafe();
    if (isAscii(bytes)) {
      return true;
    }
    try {
      StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
      return true;
    } catch (CharacterCodingException invalid) {
      return false;
    }
  }

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** No byte has its top bit set; eight bytes a step (the byte loop was 5 % of the relay's CPU at 1 KiB). */
  static boolean isAscii(byte[] bytes) {
    long any = 0;
    int i = 0;
    for (; i + Long.BYTES <= bytes.length; i += Long.BYTES) {
      any |= (long) LONGS.get(bytes, i);
    }
    for (; i < bytes.length; i++) {
      any |= bytes[i];
    }
    return (any & 0x8080808080808080L) == 0;
  }

  /** The whole frame as the relay takes it: a complete text frame of valid UTF-8 becomes binary. */
  static FrameStart handedOn(FrameHeader header, ByteString data) {
    if (header.opcode().code() == TEXT && header.fin()) {
      // One array (a slice of a TCP read is copied once): the checks after this read it byte by byte.
      data = data.compact();
    }
    if (header.opcode().code() == TEXT && header.fin() && isUtf8(data)) {
      header = header.copy(BINARY_OPCODE, header.mask(), header.length(), header.fin(),
          header.rsv1(), header.rsv2(), header.rsv3());
    }
    return new FrameStart(header, data);
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      /** The frame being joined (null: none), and its parts so far. */
      private FrameHeader header;
      private ByteStringBuilder parts;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            FrameEventOrError event = grab(in);
            if (header != null && event instanceof FrameData data) {
              parts.append(data.data());
              if (data.lastPart()) {
                FrameHeader whole = header;
                ByteString bytes = parts.result();
                header = null;
                parts = null;
                cancelTimer("assembly");
                push(out, handedOn(whole, bytes));
              } else {
                pull(in);
              }
            } else if (event instanceof FrameStart start && !start.lastPart()
                && !start.header().opcode().isControl() && start.header().length() <= maxFrameBytes) {
              header = start.header();
              parts = new ByteStringBuilder();
              parts.append(start.data());
              scheduleOnce("assembly", assemblyTimeout);
              pull(in);
            } else if (event instanceof FrameStart start && start.lastPart() && !start.header().opcode().isControl()) {
              FrameStart whole = handedOn(start.header(), start.data());
              push(out, whole.header() == start.header() ? start : whole); // unchanged: the event as it came
            } else {
              push(out, event);
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

      @Override
      public void onTimer(Object key) {
        failStage(new AssemblyTimeout(assemblyTimeout));
      }
    };
  }
}
