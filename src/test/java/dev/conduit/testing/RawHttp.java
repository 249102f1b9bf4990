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
import java.util.ArrayList;
import java.util.List;

/**
 * HTTP/1.1 over a plain socket, byte for byte, from a chosen source address: for sending exactly the
 * bytes a test means (invalid header bytes, a chunked body in controlled pieces, a trickled head) and
 * for per-address limits (on Linux every 127.x.y.z is loopback, so 127.0.0.2 is "another client"; the
 * JDK client cannot bind a source). Responses are read by their Content-Length (as the edge's carry).
 * Reads are bounded by a generous hang guard, never used as synchronisation.
 */
public final class RawHttp implements AutoCloseable {
  private static final Duration DEFAULT_HANG_GUARD = Duration.ofSeconds(30);

  /** A response: status, headers as (name, ISO-8859-1 value) in order, body bytes. */
  public record Response(int status, List<String[]> headers, byte[] bodyBytes) {
    /** The body as UTF-8 text. */
    public String body() {
      return new String(bodyBytes, StandardCharsets.UTF_8);
    }

    /** The first header of that name (case-insensitive), or null. */
    public String header(String name) {
      return headers.stream().filter(h -> h[0].equalsIgnoreCase(name)).map(h -> h[1]).findFirst().orElse(null);
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

  /** A TCP connection from 127.0.0.1 to 127.0.0.1:port. */
  public static RawHttp connect(int port) throws IOException {
    return connect("127.0.0.1", port, DEFAULT_HANG_GUARD);
  }

  /** Sends bytes and reads one response on a fresh connection. */
  public static Response exchange(int port, byte[] request) throws IOException {
    try (RawHttp http = connect(port)) {
      http.write(request);
      return http.readResponse();
    }
  }

  public static byte[] latin1(String text) {
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  public void write(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
  }

  /** Each char of the text as one byte (ISO-8859-1). */
  public void write(String latin1) throws IOException {
    write(latin1(latin1));
  }

  /** One chunk of a chunked body (size line, data, CRLF). */
  public void writeChunk(byte[] data) throws IOException {
    write(Integer.toHexString(data.length) + "\r\n");
    write(data);
    write("\r\n");
  }

  public void writeLastChunk() throws IOException {
    write("0\r\n\r\n");
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

  /** The next response: its head, and the body given by Content-Length (none without one, e.g. 101). */
  public Response readResponse() throws IOException {
    String statusLine = readLine();
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    List<String[]> headers = new ArrayList<>();
    for (String line = readLine(); line != null && !line.isEmpty(); line = readLine()) {
      int colon = line.indexOf(':');
      headers.add(new String[] {line.substring(0, colon), line.substring(colon + 1).strip()});
    }
    Response head = new Response(status, headers, new byte[0]);
    String length = head.header("Content-Length");
    return length == null ? head : new Response(status, headers, in.readNBytes(Integer.parseInt(length)));
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

  /**
   * Sends the parts in order and tells whether the server closed the connection without a reply. A
   * server that closes at accept may do so before a later part is written: that write fails (broken
   * pipe, reset), which counts as closed too.
   */
  public boolean sendClosedWithoutReply(byte[]... parts) throws IOException {
    try {
      for (byte[] part : parts) {
        write(part);
      }
    } catch (SocketException closed) {
      return true;
    }
    return closedWithoutReply();
  }

  private String readLine() throws IOException {
    return readLine(in);
  }

  /** A CRLF-terminated line as ISO-8859-1, without the CRLF; null at end of stream. */
  static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b = in.read(); b >= 0; b = in.read()) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
