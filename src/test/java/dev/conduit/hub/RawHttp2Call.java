package dev.conduit.hub;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One gRPC call over a plain socket speaking HTTP/2 (h2c, prior knowledge) frame by frame, so a test
 * can send a gRPC message header that announces more bytes than it will ever send, and see what the
 * edge answers without it waiting for them.
 */
final class RawHttp2Call implements AutoCloseable {
  private static final int DATA = 0;
  private static final int HEADERS = 1;
  private static final int RST_STREAM = 3;
  private static final int SETTINGS = 4;
  private static final int PING = 6;
  private static final int GOAWAY = 7;
  private static final int ACK = 0x1;
  private static final int END_HEADERS = 0x4;
  private static final int STREAM = 1;

  /** How the call ended: the gRPC status from the trailers (or -1) and the response messages' bytes. */
  record Outcome(int grpcStatus, String grpcMessage, byte[] data, String endedBy) {}

  private final Socket socket;
  private final OutputStream out;
  private final DataInputStream in;
  private final ByteArrayOutputStream data = new ByteArrayOutputStream();
  /** One HPACK context for the connection: the edge's header blocks refer to earlier ones. */
  private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);

  RawHttp2Call(int port, Duration hangGuard) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout((int) hangGuard.toMillis());
    out = socket.getOutputStream();
    in = new DataInputStream(socket.getInputStream());
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    frame(SETTINGS, 0, 0, new byte[0]);
    Http2Headers headers = new DefaultHttp2Headers().method("POST").scheme("http")
        .path("/hookly.v1.RelayService/Stream").authority("127.0.0.1:" + port)
        .add("content-type", "application/grpc").add("te", "trailers");
    ByteBuf block = Unpooled.buffer();
    try {
      new DefaultHttp2HeadersEncoder().encodeHeaders(STREAM, headers, block);
      byte[] bytes = new byte[block.readableBytes()];
      block.readBytes(bytes);
      frame(HEADERS, END_HEADERS, STREAM, bytes);
    } catch (Exception e) {
      throw new IOException(e);
    } finally {
      block.release();
    }
  }

  /** A gRPC message header (uncompressed) announcing length bytes. */
  static byte[] messageHeader(long length) {
    return ByteBuffer.allocate(5).put((byte) 0).putInt((int) length).array();
  }

  /** A whole gRPC message: header and body. */
  static byte[] message(byte[] body) {
    return ByteBuffer.allocate(5 + body.length).put(messageHeader(body.length)).put(body).array();
  }

  /** Sends bytes of the request body in one DATA frame, the stream left open. */
  void send(byte[] bytes) throws IOException {
    frame(DATA, 0, STREAM, bytes);
  }

  /** Reads frames until the call's trailers (or a reset / GOAWAY); the socket's timeout is the hang guard. */
  Outcome awaitEnd() throws Exception {
    while (true) {
      Frame frame = next();
      if (frame.trailers() != null) {
        CharSequence status = frame.trailers().get("grpc-status");
        CharSequence message = frame.trailers().get("grpc-message");
        return new Outcome(Integer.parseInt(status.toString()), message == null ? null : message.toString(),
            data.toByteArray(), "trailers");
      }
      if (frame.type() == RST_STREAM || frame.type() == GOAWAY) {
        return new Outcome(-1, null, data.toByteArray(), (frame.type() == GOAWAY ? "GOAWAY " : "RST_STREAM ")
            + java.util.HexFormat.of().formatHex(frame.payload()));
      }
    }
  }

  /** Reads frames until at least n response bytes arrived; fails if the call ends first. */
  byte[] awaitData(int n) throws Exception {
    while (data.size() < n) {
      Frame frame = next();
      if (frame.trailers() != null || frame.type() == RST_STREAM || frame.type() == GOAWAY) {
        throw new IllegalStateException("call ended (frame type " + frame.type() + ", trailers " + frame.trailers()
            + ") before " + n + " response bytes");
      }
    }
    return data.toByteArray();
  }

  /** trailers is set for a HEADERS frame of the call carrying grpc-status. */
  private record Frame(int type, Http2Headers trailers, byte[] payload) {}

  /** The next frame from the edge; answers SETTINGS and PING, collects DATA of the call. */
  private Frame next() throws Exception {
    int length = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
    int type = in.readUnsignedByte();
    int flags = in.readUnsignedByte();
    int stream = in.readInt() & 0x7fffffff;
    byte[] payload = new byte[length];
    in.readFully(payload);
    if (type == SETTINGS && (flags & ACK) == 0) {
      frame(SETTINGS, ACK, 0, new byte[0]);
    } else if (type == PING && (flags & ACK) == 0) {
      frame(PING, ACK, 0, payload);
    } else if (type == DATA && stream == STREAM) {
      data.write(payload);
    } else if (type == HEADERS && stream == STREAM) {
      Http2Headers headers = decoder.decodeHeaders(STREAM, Unpooled.wrappedBuffer(payload));
      if (headers.get("grpc-status") != null) {
        return new Frame(type, headers, payload);
      }
    } else if (type == RST_STREAM && stream != STREAM) {
      return new Frame(-1, null, payload);
    }
    return new Frame(type, null, payload);
  }

  private void frame(int type, int flags, int stream, byte[] payload) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(9);
    header.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length)
        .put((byte) type).put((byte) flags).putInt(stream);
    out.write(header.array());
    out.write(payload);
    out.flush();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
