package dev.conduit.tunnel;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.util.ByteString;

/**
 * What a WebSocket's inbound stream tells the actor that owns the socket. The stream sends the next
 * batch only after the actor acks the previous one, so a busy actor backpressures its socket.
 */
public sealed interface SocketEvent extends InstanceConnection.Command, ClientSession.Command {

  enum Ack { INSTANCE }

  record Opened(ActorRef<Ack> ackTo) implements SocketEvent {}

  /**
   * The frames that arrived, in order, while the actor was busy with the previous batch (one frame when
   * it was idle): batching under backpressure costs an idle socket no latency and a busy one far fewer
   * round trips between stream and actor.
   */
  record Frames(List<Inbound> frames, ActorRef<Ack> ackTo) implements SocketEvent {}

  record Closed() implements SocketEvent {}

  record Failed(Throwable cause) implements SocketEvent {}

  /** One inbound WebSocket message: its text, or only its size when it was over the frame limit. */
  sealed interface Inbound {
    long bytes();
  }

  record Text(String text, long bytes) implements Inbound {}

  /**
   * A whole frame as its UTF-8 bytes (how text and binary frames arrive, see WholeFrames): data frames
   * are forwarded from these bytes without a String; anything else is decoded as {@link #text()}.
   */
  record Utf8(ByteString data) implements Inbound {
    @Override
    public long bytes() {
      return data.size();
    }

    String text() {
      return data.utf8String();
    }
  }

  record TooLarge(long bytes) implements Inbound {}
}
