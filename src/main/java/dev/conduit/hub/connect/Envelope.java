package dev.conduit.hub.connect;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.hub.GrpcMessageLimit;
import dev.conduit.server.Json;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.util.ByteString;

/**
 * Connect's envelope: one flags byte (0x01 compressed, 0x02 end-stream), a 4-byte big-endian length, then
 * that many bytes of message. Also the end-stream message, {@code {}} or
 * {@code {"error":{"code":"unauthenticated","message":"invalid signature"}}}, always JSON.
 */
final class Envelope {
  static final int COMPRESSED = 0x01;
  static final int END_STREAM = 0x02;
  static final int HEADER_BYTES = 5;
  private static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;

  private Envelope() {}

  /** One envelope from the hub: its flags and its (still compressed, when flagged) message. */
  record Frame(int flags, ByteString message) {}

  /**
   * Bytes received so far that do not yet make a whole envelope, and how many envelopes came before them.
   * {@link #push} splits off every whole one; an envelope announcing more than its cap (the first one:
   * maxFirstMessageBytes, it is the unauthenticated connect; later ones: maxMessageBytes) fails at once,
   * before its bytes are buffered.
   */
  record Buffer(ByteString pending, long envelopes) {
    static final Buffer EMPTY = new Buffer(ByteString.emptyByteString(), 0);

    Result push(ByteString bytes, int maxFirstMessageBytes, int maxMessageBytes) {
      ByteString data = pending.concat(bytes);
      List<Frame> frames = new ArrayList<>();
      long seen = envelopes;
      while (data.size() >= HEADER_BYTES) {
        long length = Integer.toUnsignedLong(data.iterator().drop(1).getInt(ORDER));
        Optional<Status> refusal = GrpcMessageLimit.overCap(seen, length, maxFirstMessageBytes, maxMessageBytes);
        if (refusal.isPresent()) {
          throw new GrpcServiceException(refusal.get());
        }
        if (data.size() < HEADER_BYTES + length) {
          break;
        }
        frames.add(new Frame(data.apply(0) & 0xff, data.slice(HEADER_BYTES, HEADER_BYTES + (int) length)));
        data = data.drop(HEADER_BYTES + (int) length);
        seen++;
      }
      return new Result(new Buffer(data.compact(), seen), frames);
    }
  }

  record Result(Buffer buffer, List<Frame> frames) {}

  static ByteString frame(int flags, byte[] message) {
    return ByteString.createBuilder()
        .putByte((byte) flags)
        .putInt(message.length, ORDER)
        .putBytes(message)
        .result();
  }

  /** The end-stream envelope; status OK gives {@code {}}, any other its Connect code and description. */
  static ByteString endStream(Status status) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    if (!status.isOk()) {
      ObjectNode error = body.putObject("error").put("code", code(status.getCode()));
      if (status.getDescription() != null) {
        error.put("message", status.getDescription());
      }
    }
    return frame(END_STREAM, body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Connect's name of a gRPC status code: the lower-case name, "canceled" with one l. */
  static String code(Status.Code code) {
    return code == Status.Code.CANCELLED ? "canceled" : code.name().toLowerCase(Locale.ROOT);
  }

  static byte[] gzip(byte[] message) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.length / 2 + 32);
    try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
      out.write(message);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** Decompresses; more than maxBytes of output fails with resource_exhausted, bad gzip with invalid_argument. */
  static byte[] gunzip(ByteString compressed, int maxBytes) {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed.toArray()))) {
      byte[] out = in.readNBytes(maxBytes + 1);
      if (out.length > maxBytes) {
        throw new GrpcServiceException(Status.RESOURCE_EXHAUSTED.withDescription(
            "decompressed message is over the limit of " + maxBytes + " bytes"));
      }
      return out;
    } catch (IOException e) {
      throw new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription("bad gzip message: " + e.getMessage()));
    }
  }
}
