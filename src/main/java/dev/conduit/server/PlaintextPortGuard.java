package dev.conduit.server;

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
 * On the bytes a peer sends to a plaintext port, before pekko-http reads them: a connection whose first
 * bytes are a TLS record header of a handshake (0x16, then version major 0x03: a ClientHello) is a
 * client that expects TLS. pekko-http would answer it with an HTTP/2 protocol error or a 400 that the
 * client cannot read, and log nothing useful; here onTlsHandshake runs (for a log line) and the stage
 * completes, which closes the connection. Anything else passes unchanged, and after the first two
 * bytes the stage only forwards.
 */
public final class PlaintextPortGuard extends GraphStage<FlowShape<ByteString, ByteString>> {
  /** TLS record content type "handshake" and the major version every TLS (and SSL 3) record carries. */
  private static final byte HANDSHAKE = 0x16;
  private static final byte TLS_MAJOR_VERSION = 0x03;
  private static final int PREFIX = 2;

  private final Inlet<ByteString> in = Inlet.create("PlaintextPortGuard.in");
  private final Outlet<ByteString> out = Outlet.create("PlaintextPortGuard.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final Runnable onTlsHandshake;

  public PlaintextPortGuard(Runnable onTlsHandshake) {
    this.onTlsHandshake = onTlsHandshake;
  }

  /** Whether bytes (at least two) start like a TLS handshake record. */
  public static boolean startsLikeTls(ByteString bytes) {
    return bytes.size() >= PREFIX && bytes.apply(0) == HANDSHAKE && bytes.apply(1) == TLS_MAJOR_VERSION;
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      /** The first bytes while fewer than PREFIX have come; null once decided. */
      private ByteString head = ByteString.emptyByteString();

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ByteString chunk = grab(in);
            if (head == null) {
              push(out, chunk);
              return;
            }
            head = head.concat(chunk);
            if (head.size() < PREFIX) {
              pull(in);
              return;
            }
            if (startsLikeTls(head)) {
              onTlsHandshake.run();
              completeStage();
              return;
            }
            ByteString first = head;
            head = null;
            push(out, first);
          }

          @Override
          public void onUpstreamFinish() {
            if (head != null && !head.isEmpty()) {
              emit(out, head);
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
