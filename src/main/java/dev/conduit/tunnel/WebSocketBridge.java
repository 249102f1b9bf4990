package dev.conduit.tunnel;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import scala.jdk.javaapi.DurationConverters;
import org.slf4j.LoggerFactory;

/**
 * Joins a WebSocket to the actor that owns it: inbound messages are assembled (text or binary, each
 * one JSON frame), size-checked and handed to the actor in batches with backpressure; outbound comes from the
 * queue the actor writes to. A whole frame normally arrives as a strict binary message of its UTF-8 bytes
 * ({@link WholeFrames}) and is handed on as those bytes ({@link SocketEvent.Utf8}); streamed messages
 * (fragmented, or over the frame limit) are still folded here.
 *
 * <p>The outbound side belongs to the actor: it ends when the actor queues a {@link SocketClose} marker
 * (after its last frame) or completes or fails its queue, never because the actor stopped. So a last
 * error frame queued just before the actor stops is still written, followed by a close frame with that
 * reason. Once the actor is gone (or the peer closed) the socket has {@code close-timeout} to finish; then
 * the connection is cut ({@link Ending}).
 */
final class WebSocketBridge {
  private static final Logger LOG = LoggerFactory.getLogger(WebSocketBridge.class);

  private WebSocketBridge() {}

  /** What a refused (too large) frame counts for in a batch: it keeps no text, but is not free either. */
  private static final long MIN_FRAME_WEIGHT = 64;

  /**
   * One socket's message flow: build it once per socket (each materialisation spawns an owner). The
   * owner's outbound queue is materialised with the socket's own stream (not beforehand in a stream of
   * its own: that cost an extra interpreter and a fan-out publisher actor per socket, the largest part of
   * an idle instance's heap beyond pekko-http's); spawn gets it and answers with the owner, to which
   * inbound batches then go (from its answer on, whether or not a frame came). If spawn fails, the socket
   * fails (the queue is failed with its cause).
   */
  static Flow<Message, Message, NotUsed> flow(Source<Message, SourceQueueWithComplete<List<Message>>> queue,
                                              Function<SourceQueueWithComplete<List<Message>>, CompletionStage<ActorRef<SocketEvent>>> spawn,
                                              Ending ending, int maxFrameBytes, int maxBatchBytes, Duration assemblyTimeout,
                                              Materializer mat) {
    CompletableFuture<ActorRef<SocketEvent>> owner = new CompletableFuture<>();
    Source<Message, NotUsed> outbound = queue.mapMaterializedValue(out -> {
      spawn.apply(out).whenComplete((ref, failure) -> {
        if (failure != null) {
          out.fail(failure);
          owner.completeExceptionally(failure);
        } else {
          owner.complete(ref);
        }
      });
      return NotUsed.getInstance();
    });
    Sink<Message, NotUsed> inbound = Flow.<Message>create()
        .mapAsync(1, message -> assemble(message, maxFrameBytes, assemblyTimeout, mat))
        // Frames pile up into one batch only while the actor has not acked the last one (bounded by bytes).
        .batchWeighted(maxBatchBytes, WebSocketBridge::weight, WebSocketBridge::firstOfBatch, WebSocketBridge::addToBatch)
        // Ends when the peer closed or the actor stopped (the sink cancels): either way the socket is ending.
        .watchTermination((notUsed, done) -> {
          done.whenComplete((d, failure) -> ending.ownerGone(mat));
          return notUsed;
        })
        // A flow, not Sink.completionStageSink: that one is lazy (it starts its sink only with the first
        // element), so an actor whose peer left without sending a frame would never learn the socket closed.
        .via(Flow.completionStageFlow(owner.thenApply(ref -> Flow.fromSinkAndSourceCoupled(
            ActorSink.actorRefWithBackpressure(ref,
                (ActorRef<SocketEvent.Ack> ackTo, List<SocketEvent.Inbound> batch) -> new SocketEvent.Frames(batch, ackTo),
                SocketEvent.Opened::new, SocketEvent.Ack.INSTANCE, new SocketEvent.Closed(), SocketEvent.Failed::new),
            Source.<NotUsed>never()))))
        .to(Sink.ignore());
    // Not coupled: the actor stopping must not cancel what it queued last.
    return Flow.fromSinkAndSource(inbound, outbound(outbound, ending));
  }

  /**
   * An actor's queue as it goes on the wire: up to the first close marker (taken off, its status and
   * reason kept for the close frame), or, when the queue was failed with {@link SocketClose.Failed},
   * that failure's last frame.
   */
  static Source<Message, NotUsed> outbound(Source<Message, ?> queue, Ending ending) {
    return queue
        .recoverWithRetries(1, new PFBuilder<Throwable, Graph<SourceShape<Message>, NotUsed>>()
            .match(SocketClose.Failed.class, failed -> {
              ending.closingWith(failed.close);
              return failed.lastFrame == null ? Source.empty() : Source.single(TextMessage.create(failed.lastFrame));
            })
            .build())
        .takeWhile(message -> !(message instanceof SocketClose), true)
        .filter(message -> {
          if (message instanceof SocketClose close) {
            ending.closingWith(close);
            return false;
          }
          return true;
        })
        .mapMaterializedValue(mat -> NotUsed.getInstance());
  }

  /**
   * How one socket ends: the close the relay chose (if it chose one) and the bound on ending. Shared by
   * the message side (which learns the reason) and the frame side (which writes it, see WebSocketFrames).
   */
  static final class Ending {
    private final AtomicReference<SocketClose> close = new AtomicReference<>();
    private final SharedKillSwitch cut = KillSwitches.shared("socket-cut");
    private final AtomicBoolean ownerGone = new AtomicBoolean();
    private final AtomicReference<Cancellable> deadline = new AtomicReference<>();
    private final Duration closeTimeout;
    private final String what;

    /** what names the socket in the log line written when it has to be cut. */
    Ending(Duration closeTimeout, String what) {
      this.closeTimeout = closeTimeout;
      this.what = what;
    }

    /** The close the relay asked for, or null (the peer closed, or the relay stopped without a reason). */
    SocketClose close() {
      return close.get();
    }

    void closingWith(SocketClose reason) {
      close.compareAndSet(null, reason);
    }

    /** Aborts both directions of the connection at once (the TCP connection is dropped). */
    SharedKillSwitch cut() {
      return cut;
    }

    Duration closeTimeout() {
      return closeTimeout;
    }

    /** The owning actor is gone or going: the rest of the socket's life is bounded by close-timeout. */
    void ownerGone(Materializer mat) {
      if (ownerGone.compareAndSet(false, true)) {
        deadline.set(mat.scheduleOnce(DurationConverters.toScala(closeTimeout), () -> {
          SocketClose reason = close.get();
          LOG.info("socket cut {} reason={} after close-timeout {} (peer did not take its last frames)", what,
              reason == null ? "-" : reason.reason, closeTimeout);
          cut.abort(new CloseTimeout(closeTimeout));
        }));
      }
    }

    /** The connection is gone: nothing left to bound. */
    void finished() {
      Cancellable pending = deadline.get();
      if (pending != null) {
        pending.cancel();
      }
    }
  }

  /** The connection did not finish within close-timeout; expected, so without a stack trace. */
  static final class CloseTimeout extends RuntimeException {
    CloseTimeout(Duration closeTimeout) {
      super("socket not closed within " + closeTimeout, null, false, false);
    }
  }

  private static long weight(SocketEvent.Inbound in) {
    return in instanceof SocketEvent.TooLarge ? MIN_FRAME_WEIGHT : Math.max(in.bytes(), MIN_FRAME_WEIGHT);
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
          : new SocketEvent.Utf8(data));
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
      return data == null ? new SocketEvent.TooLarge(bytes) : new SocketEvent.Utf8(data.compact());
    }
  }
}
