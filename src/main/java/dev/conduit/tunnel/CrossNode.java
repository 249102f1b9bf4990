package dev.conduit.tunnel;

import java.util.List;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.SinkRef;
import org.apache.pekko.stream.StreamRefAttributes;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.stream.javadsl.StreamRefs;

/**
 * A session whose two sockets are on different nodes: each side hands the other a stream ref into its
 * own socket's outbound queue, and writes to the other's through a local bounded queue, so both actors
 * keep offering batches and waiting for the offer (backpressure, slow-consumer-grace) exactly as with a
 * queue on their own node. Demand crosses the nodes end to end: the far socket's queue takes a frame,
 * the stream ref asks for one more, the local queue takes the next offer. Frames cross as
 * {@link TunnelFrame}s, one per stream element (each within conduit.cluster.max-message-bytes).
 */
final class CrossNode {
  /** The actor that writes to the local queue waits for each offer before the next; one more for a last frame. */
  private static final int OFFERS = 2;

  private CrossNode() {}

  /**
   * A stream ref (for the other node) into socket, this node's socket queue: frames it sends are offered
   * one at a time, the next asked for once socket took this one. Its end never ends the socket.
   *
   * @param inFlight frames the other side may send ahead of what socket took
   */
  static SinkRef<TunnelFrame> into(SourceQueueWithComplete<List<Message>> socket, int inFlight,
                                   Materializer materializer) {
    return StreamRefs.<TunnelFrame>sinkRef()
        .addAttributes(StreamRefAttributes.bufferCapacity(inFlight))
        .mapAsync(1, frame -> socket.offer(List.of(frame.toMessage())))
        .to(Sink.ignore())
        .run(materializer);
  }

  /** A local queue of batches (one batch at a time) that feeds the other node's stream ref. */
  static SourceQueueWithComplete<List<Message>> queueTo(SinkRef<TunnelFrame> remote, Materializer materializer) {
    return Source.<List<Message>>queue(1, OverflowStrategy.backpressure(), OFFERS)
        .mapConcat(TunnelFrame::of)
        .to(remote.getSink())
        .run(materializer);
  }

  /** Ends a stream ref nobody will write to (its session ended before it was used). */
  static void discard(SinkRef<TunnelFrame> unused, Materializer materializer) {
    Source.<TunnelFrame>empty().runWith(unused.getSink(), materializer);
  }
}
