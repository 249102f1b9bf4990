package dev.conduit.hub;

import io.grpc.Status;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;

import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Caps the size of every gRPC message a hub sends, read from the 5-byte gRPC frame header (compressed
 * flag, 4-byte big-endian length) as the bytes arrive, before pekko-grpc gathers the message: the first
 * message of a call (the unauthenticated {@code connect}) at {@code maxFirstMessageBytes}, every later
 * one (only read once that connect was accepted: the stream is pulled one message at a time) at
 * {@code maxMessageBytes}. At the header of a message over its cap, nothing more of the request is
 * read (so nothing of the message is buffered) and the call ends at once with RESOURCE_EXHAUSTED
 * ({@link Refused}, turned into the call's status by {@link HubConnection}). A
 * compressed first message is refused with INVALID_ARGUMENT: its size after decompression is unknown
 * until it has been decompressed.
 *
 */
public final class GrpcMessageLimit {
  private static final int HEADER_BYTES = 5;

  private GrpcMessageLimit() {}

  /** A message over its cap (RESOURCE_EXHAUSTED) or a compressed first message (INVALID_ARGUMENT). */
  public static final class Refused extends RuntimeException {
    private final transient Status status;

    Refused(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }

    /** The status the call ends with ({@link HubConnection} ends it so). */
    public Status status() {
      return status;
    }
  }

  /**
   * The size rule for both transports (gRPC here, Connect in {@code hub.connect.Envelope}): a message of
   * length bytes, the index-th of its call (0 is the unauthenticated connect, capped at
   * maxFirstMessageBytes; later ones at maxMessageBytes), is refused with RESOURCE_EXHAUSTED when over its
   * cap; empty when it is within it.
   */
  public static Optional<Status> overCap(long index, long length, int maxFirstMessageBytes, int maxMessageBytes) {
    boolean first = index == 0;
    int max = first ? maxFirstMessageBytes : maxMessageBytes;
    if (length <= max) {
      return Optional.empty();
    }
    return Optional.of(Status.RESOURCE_EXHAUSTED.withDescription("message of " + length + " bytes over the limit of "
        + max + " bytes" + (first ? " before authentication" : "")));
  }

  /** handler, with every request's gRPC messages checked against the caps. */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> wrap(
      Function<HttpRequest, CompletionStage<HttpResponse>> handler, int maxFirstMessageBytes, int maxMessageBytes,
      ClassicActorSystemProvider system) {
    return request -> {
      Reader reader = new Reader(maxFirstMessageBytes, maxMessageBytes);
      // The request body is read through a queue that is never cancelled from here: pekko-http answers a
      // cancelled request body with RST_STREAM (CANCEL), which would overtake the trailers carrying the
      // refusal. Over a cap, nothing more is taken from the queue (HTTP/2 flow control then holds the hub
      // back), the messages fail with Refused, and HubConnection ends the call with its status; the hub's
      // client resets the stream once it has the status.
      SinkQueueWithCancel<ByteString> body = request.entity().getDataBytes().runWith(Sink.queue(), system);
      Source<ByteString, NotUsed> checked = Source.unfoldAsync(body, queue -> queue.pull().thenApply(next -> {
        if (next.isEmpty()) {
          return Optional.empty();
        }
        reader.accept(next.get());
        return Optional.of(Pair.create(queue, next.get()));
      }));
      return handler.apply(request.withEntity(HttpEntities.create(request.entity().getContentType(), checked)));
    };
  }

  /** Follows the framing: which bytes are a header, how many of the current message are still to come. */
  private static final class Reader {
    private final int maxFirst;
    private final int maxLater;
    private final byte[] header = new byte[HEADER_BYTES];
    private int headerRead;
    private long bodyLeft;
    private long messages;

    Reader(int maxFirst, int maxLater) {
      this.maxFirst = maxFirst;
      this.maxLater = maxLater;
    }

    /** Follows bytes through the framing; throws Refused at the header of a message over its cap. */
    void accept(ByteString bytes) {
      int i = 0;
      int n = bytes.size();
      while (i < n) {
        if (bodyLeft > 0) {
          int skip = (int) Math.min(bodyLeft, n - i);
          bodyLeft -= skip;
          i += skip;
        } else {
          header[headerRead++] = bytes.apply(i++);
          if (headerRead == HEADER_BYTES) {
            headerRead = 0;
            onHeader();
          }
        }
      }
    }

    private void onHeader() {
      long index = messages++;
      long length = ((header[1] & 0xffL) << 24) | ((header[2] & 0xffL) << 16) | ((header[3] & 0xffL) << 8)
          | (header[4] & 0xffL);
      if (index == 0 && header[0] != 0) {
        refuse(Status.INVALID_ARGUMENT.withDescription("compressed message before authentication: not accepted"));
      }
      overCap(index, length, maxFirst, maxLater).ifPresent(this::refuse);
      bodyLeft = length;
    }

    private void refuse(Status status) {
      throw new Refused(status);
    }
  }
}
