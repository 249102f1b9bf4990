package dev.conduit.tunnel;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * one JSON frame), size-checked and handed to the actor in batches with backpressure; outbound comes from the
 * queue the actor writes to. When either side ends, both do.
 */
final class WebSocketBridge {
  private WebSocketBridge() {}

  /** What a refused (too large) frame counts for in a batch: it keeps no text, but is not free either. */
  private static final long MIN_FRAME_WEIGHT = 64;

  static Flow<Message, Message, NotUsed> flow(ActorRef<SocketEvent> owner, Source<Message, ?> outbound,
                                              int maxFrameBytes, int maxBatchBytes, Duration assemblyTimeout,
                                              Materializer mat) {
    Sink<Message, NotUsed> inbound = Flow.<Message>create()
        .mapAsync(1, message -> assemble(message, maxFrameBytes, assemblyTimeout, mat))
        // Frames pile up into one batch only while the actor has not acked the last one (bounded by bytes).
        .batchWeighted(maxBatchBytes, WebSocketBridge::weight, WebSocketBridge::firstOfBatch, WebSocketBridge::addToBatch)
        .to(ActorSink.actorRefWithBackpressure(owner,
            (ActorRef<SocketEvent.Ack> ackTo, List<SocketEvent.Inbound> batch) -> new SocketEvent.Frames(batch, ackTo),
            SocketEvent.Opened::new, SocketEvent.Ack.INSTANCE, new SocketEvent.Closed(), SocketEvent.Failed::new));
    return Flow.fromSinkAndSourceCoupled(inbound, outbound);
  }

  private static long weight(SocketEvent.Inbound in) {
    return in instanceof SocketEvent.Text ? Math.max(in.bytes(), MIN_FRAME_WEIGHT) : MIN_FRAME_WEIGHT;
  }

  private static List<SocketEvent.Inbound> firstOfBatch(SocketEvent.Inbound in) {
    List<SocketEvent.Inbound> batch = new ArrayList<>();
    batch.add(in);
    return batch;
  }

  private static List<SocketEvent.Inbound> addToBatch(List<SocketEvent.Inbound> batch, SocketEvent.Inbound in) {
    batch.add(in);
    return batch;
  }

  private static CompletionStage<SocketEvent.Inbound> assemble(Message message, int max, Duration timeout, Materializer mat) {
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
      return CompletableFuture.completedFuture(data.size() > max ? new SocketEvent.TooLarge(data.size())
          : new SocketEvent.Text(data.decodeString(StandardCharsets.UTF_8), data.size()));
    }
    return binary.getStreamedData().completionTimeout(timeout)
        .runFold(new BinaryAccumulator(max), BinaryAccumulator::add, mat)
        .thenApply(BinaryAccumulator::result);
  }

  private static SocketEvent.Inbound checked(String text, int max) {
    long bytes = utf8Length(text, max);
    return bytes > max ? new SocketEvent.TooLarge(bytes) : new SocketEvent.Text(text, bytes);
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

    SocketEvent.Inbound result(int max) {
      return text == null ? new SocketEvent.TooLarge(chars) : checked(text.toString(), max);
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

    SocketEvent.Inbound result() {
      return data == null ? new SocketEvent.TooLarge(bytes)
          : new SocketEvent.Text(data.decodeString(StandardCharsets.UTF_8), bytes);
    }
  }
}
