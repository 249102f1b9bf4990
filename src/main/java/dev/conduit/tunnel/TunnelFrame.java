package dev.conduit.tunnel;

import dev.conduit.cluster.ClusterSerializable;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.util.ByteString;

/**
 * One relayed frame as it crosses between nodes inside a session's stream ref (pekko-http's Message is
 * not serializable): exactly one of text (a frame built as a string) and bytes (a frame relayed as the
 * UTF-8 bytes it arrived as, sent with the text opcode, see {@link WebSocketBridge}) is set. At most
 * max-frame-bytes plus its envelope, within conduit.cluster.max-message-bytes. Only data frames cross:
 * a socket's close marker ({@link SocketClose}) never leaves the node that owns the socket.
 */
public record TunnelFrame(String text, byte[] bytes) implements ClusterSerializable {

  /** A strict frame this relay built (TextMessage.create or BinaryMessage.create). */
  static TunnelFrame of(Message message) {
    if (message.isText()) {
      return new TunnelFrame(message.asTextMessage().getStrictText(), null);
    }
    return new TunnelFrame(null, message.asBinaryMessage().getStrictData().toArray());
  }

  static List<TunnelFrame> of(List<Message> batch) {
    return batch.stream().map(TunnelFrame::of).toList();
  }

  Message toMessage() {
    return text != null ? TextMessage.create(text) : BinaryMessage.create(ByteString.fromArrayUnsafe(bytes));
  }
}
