package dev.conduit.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket from a chosen source address (on Linux every 127.x.y.z is loopback, so
 * 127.0.0.2 is "another client"): for tests of per-address limits, which the JDK client cannot bind.
 * Reads are bounded by a generous hang guard, never used as synchronisation.
 */
public final class RawHttp implements AutoCloseable {
  /** An HTTP response: status, head (lower-cased header names kept as sent), body. */
  public record Response(int status, String head, String body) {
    public String header(String name) {
      for (String line : head.split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
          return line.substring(colon + 1).trim();
        }
      }
      return null;
    }
  }

  private final Socket socket;
  private final InputStream in;

  private RawHttp(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
  }

  /** A TCP connection from source (e.g. "127.0.0.2") to 127.0.0.1:port. */
  public static RawHttp connect(String source, int port, Duration hangGuard) throws IOException {
    Socket socket = new Socket();
    socket.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), (int) hangGuard.toMillis());
    socket.setSoTimeout((int) hangGuard.toMillis());
    socket.setTcpNoDelay(true);
    return new RawHttp(socket);
  }

  public void write(String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
  }

  public void write(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
  }

  /** GET path (keep-alive) with optional extra header lines, and its response. */
  public Response get(String path, String... headers) throws IOException {
    StringBuilder request = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: conduit\r\n");
    for (String header : headers) {
      request.append(header).append("\r\n");
    }
    write(request.append("\r\n").toString());
    return readResponse();
  }

  /** The next response head, and the body given by Content-Length (none for 101). */
  public Response readResponse() throws IOException {
    String head = readHead();
    if (head == null) {
      throw new IOException("connection closed before a response");
    }
    int status = Integer.parseInt(head.substring(9, 12));
    Response withoutBody = new Response(status, head, "");
    String length = withoutBody.header("Content-Length");
    byte[] body = length == null ? new byte[0] : in.readNBytes(Integer.parseInt(length));
    return new Response(status, head, new String(body, StandardCharsets.UTF_8));
  }

  /** The head up to the blank line; null when the server closed first. */
  private String readHead() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < end.length) {
      int b = read();
      if (b < 0) {
        return null;
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  /** One byte, or -1 once the server has closed the connection (a reset counts as closed). */
  public int read() throws IOException {
    try {
      return in.read();
    } catch (SocketException reset) {
      return -1;
    }
  }

  /** True when the server closes the connection without sending anything more. */
  public boolean closedWithoutReply() throws IOException {
    return read() < 0;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
