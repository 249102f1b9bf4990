package dev.conduit.tunnel;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.apache.pekko.util.ByteString;

/**
 * Joins a WebSocket to the actor that owns it: inbound messages are assembled (text or binary, each
 * one JSON frame), size-checked and handed to the actor with backpressure; outbound comes from the
 * queue the actor writes to. When either side ends, both do.
 */
final class WebSocketBridge {
  private WebSocketBridge() {}

  /** One assembled inbound message: its text, or only its size when over the limit. */
  private record Inbound(String text, long bytes) {
    SocketEvent toEvent(ActorRef<SocketEvent.Ack> ackTo) {
      return text != null ? new SocketEvent.Frame(text, ackTo) : new SocketEvent.FrameTooLarge(bytes, ackTo);
    }
  }

  static Flow<Message, Message, NotUsed> flow(ActorRef<SocketEvent> owner, Source<Message, ?> outbound,
                                              int maxFrameBytes, Duration assemblyTimeout, Materializer mat) {
    Sink<Message, NotUsed> inbound = Flow.<Message>create()
        .mapAsync(1, message -> assemble(message, maxFrameBytes, assemblyTimeout, mat))
        .to(ActorSink.actorRefWithBackpressure(owner, (ActorRef<SocketEvent.Ack> ackTo, Inbound in) -> in.toEvent(ackTo),
            SocketEvent.Opened::new, SocketEvent.Ack.INSTANCE, new SocketEvent.Closed(), SocketEvent.Failed::new));
    return Flow.fromSinkAndSourceCoupled(inbound, outbound);
  }

  private static CompletionStage<Inbound> assemble(Message message, int max, Duration timeout, Materializer mat) {
    if (message.isText()) {
      TextMessage text = message.asTextMessage();
      if (text.isStrict()) {
        return CompletableFuture.completedFuture(checked(text.getStrictText(), max));
      }
      // Drain the whole message but keep at most max characters of it, so an oversized frame costs no memory.
      return text.getStreamedText().completionTimeout(timeout)
          .runFold(new TextAccumulator(max), TextAccumulator::add, mat)
          .thenApply(acc -> acc.result(max));
    }
    BinaryMessage binary = message.asBinaryMessage();
    if (binary.isStrict()) {
      ByteString data = binary.getStrictData();
      return CompletableFuture.completedFuture(data.size() > max
          ? new Inbound(null, data.size()) : new Inbound(data.decodeString(StandardCharsets.UTF_8), data.size()));
    }
    return binary.getStreamedData().completionTimeout(timeout)
        .runFold(new BinaryAccumulator(max), BinaryAccumulator::add, mat)
        .thenApply(BinaryAccumulator::result);
  }

  private static Inbound checked(String text, int max) {
    long bytes = utf8Length(text, max);
    return bytes > max ? new Inbound(null, bytes) : new Inbound(text, bytes);
  }

  /** Exact UTF-8 size only where the character count leaves it in doubt (a char is 1 to 3 bytes). */
  private static long utf8Length(String text, int max) {
    if (text.length() > max || (long) text.length() * 3 <= max) {
      return text.length();
    }
    return text.getBytes(StandardCharsets.UTF_8).length;
  }

  private static final class TextAccumulator {
    private StringBuilder text = new StringBuilder();
    private long chars;
    private final int max;

    TextAccumulator(int max) {
      this.max = max;
    }

    TextAccumulator add(String chunk) {
      chars += chunk.length();
      if (text != null && chars <= max) {
        text.append(chunk);
      } else {
        text = null;
      }
      return this;
    }

    Inbound result(int max) {
      return text == null ? new Inbound(null, chars) : checked(text.toString(), max);
    }
  }

  private static final class BinaryAccumulator {
    private ByteString data = ByteString.emptyByteString();
    private long bytes;
    private final int max;

    BinaryAccumulator(int max) {
      this.max = max;
    }

    BinaryAccumulator add(ByteString chunk) {
      bytes += chunk.size();
      data = data != null && bytes <= max ? data.concat(chunk) : null;
      return this;
    }

    Inbound result() {
      return data == null ? new Inbound(null, bytes) : new Inbound(data.decodeString(StandardCharsets.UTF_8), bytes);
    }
  }
}
