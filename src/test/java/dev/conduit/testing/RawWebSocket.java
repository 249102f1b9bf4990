package dev.conduit.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client on a plain TCP socket, for what the JDK client cannot do: many frames in one
 * write (a burst exactly as a peer's TCP stack can deliver it), a small receive buffer, and not reading
 * at all. Reads text and close frames (with status and reason); ping and pong frames are skipped.
 */
public final class RawWebSocket implements AutoCloseable {
  private static final int OP_CONTINUATION = 0;
  private static final int OP_TEXT = 1;
  private static final int OP_BINARY = 2;
  private static final int OP_CLOSE = 8;

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  /** A frame from the server: text, or a close (text null) with its status and reason. */
  public record Frame(String text, int closeStatus, String closeReason) {
    public boolean isClose() {
      return text == null;
    }
  }

  private RawWebSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    this.out = socket.getOutputStream();
  }

  /**
   * Connects to uri (ws://host:port/path) and completes the handshake. receiveBufferBytes > 0 sets the
   * socket's receive buffer (before connecting, so the window stays that small); readTimeout guards every read.
   */
  public static RawWebSocket open(URI uri, int receiveBufferBytes, Duration readTimeout) throws IOException {
    Socket socket = new Socket();
    if (receiveBufferBytes > 0) {
      socket.setReceiveBufferSize(receiveBufferBytes);
    }
    socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), (int) readTimeout.toMillis());
    socket.setSoTimeout((int) readTimeout.toMillis());
    RawWebSocket ws = new RawWebSocket(socket);
    byte[] key = new byte[16];
    ThreadLocalRandom.current().nextBytes(key);
    String request = "GET " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
        + Base64.getEncoder().encodeToString(key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ws.out.write(request.getBytes(StandardCharsets.US_ASCII));
    ws.out.flush();
    String status = ws.readHeaders();
    if (!status.startsWith("HTTP/1.1 101")) {
      socket.close();
      throw new IOException("upgrade refused: " + status);
    }
    return ws;
  }

  private String readHeaders() throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed during handshake: " + head);
      }
      head.append((char) b);
    }
    return head.substring(0, head.indexOf("\r\n"));
  }

  /** Sends every text as its own (masked) frame, all in one write. */
  public void sendAll(List<String> texts) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (String text : texts) {
      writeFrame(all, OP_TEXT, text.getBytes(StandardCharsets.UTF_8));
    }
    synchronized (out) {
      out.write(all.toByteArray());
      out.flush();
    }
  }

  public void send(String text) throws IOException {
    sendAll(List.of(text));
  }

  /** Sends a close frame with status 1000. */
  public void sendClose() throws IOException {
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    writeFrame(frame, OP_CLOSE, new byte[] {0x03, (byte) 0xE8});
    synchronized (out) {
      out.write(frame.toByteArray());
      out.flush();
    }
  }

  private static void writeFrame(ByteArrayOutputStream to, int opcode, byte[] payload) {
    to.write(0x80 | opcode);
    if (payload.length < 126) {
      to.write(0x80 | payload.length);
    } else if (payload.length < 65536) {
      to.write(0x80 | 126);
      to.write(payload.length >>> 8);
      to.write(payload.length);
    } else {
      to.write(0x80 | 127);
      long length = payload.length;
      for (int shift = 56; shift >= 0; shift -= 8) {
        to.write((int) (length >>> shift));
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    to.write(mask, 0, 4);
    for (int i = 0; i < payload.length; i++) {
      to.write(payload[i] ^ mask[i & 3]);
    }
  }

  /** The next text or close frame (fragments joined); fails on end of stream or after the read timeout. */
  public Frame read() throws IOException {
    ByteArrayOutputStream message = new ByteArrayOutputStream();
    int messageOpcode = -1;
    while (true) {
      int first = in.readUnsignedByte();
      int second = in.readUnsignedByte();
      boolean fin = (first & 0x80) != 0;
      int opcode = first & 0x0F;
      long length = second & 0x7F;
      if (length == 126) {
        length = in.readUnsignedShort();
      } else if (length == 127) {
        length = in.readLong();
      }
      byte[] payload = new byte[(int) length];
      in.readFully(payload);
      if (opcode == OP_CLOSE) {
        int status = payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
        String reason = payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
        return new Frame(null, status, reason);
      }
      if (opcode == OP_TEXT || opcode == OP_BINARY || opcode == OP_CONTINUATION) {
        if (opcode != OP_CONTINUATION) {
          messageOpcode = opcode;
        }
        message.write(payload);
        if (fin && messageOpcode >= 0) {
          return new Frame(message.toString(StandardCharsets.UTF_8), 0, null);
        }
      }
      // ping / pong: skipped
    }
  }

  /** The next frame, which must be a text frame. */
  public String readText() throws IOException {
    Frame frame = read();
    if (frame.isClose()) {
      throw new IOException("expected a text frame but the socket closed: " + frame.closeStatus() + " " + frame.closeReason());
    }
    return frame.text();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
