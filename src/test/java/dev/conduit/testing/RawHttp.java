package dev.conduit.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket, byte for byte: for sending exactly the bytes a test means (invalid header
 * bytes, a chunked body in controlled pieces) and for reading the answer. Responses must carry a
 * Content-Length (as the edge's do).
 */
public final class RawHttp implements AutoCloseable {
  private static final int TIMEOUT_MILLIS = 30_000;

  /** A parsed response: status, headers as (name, ISO-8859-1 value), body. */
  public record Response(int status, List<String[]> headers, byte[] body) {
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public String header(String name) {
      return headers.stream().filter(h -> h[0].equalsIgnoreCase(name)).map(h -> h[1]).findFirst().orElse(null);
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  private RawHttp(Socket socket) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.in = socket.getInputStream();
  }

  public static RawHttp connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MILLIS);
    socket.setSoTimeout(TIMEOUT_MILLIS); // a hang guard only
    return new RawHttp(socket);
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
    out.write(bytes);
    out.flush();
  }

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

  public Response readResponse() throws IOException {
    String statusLine = readLine(in);
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    List<String[]> headers = new ArrayList<>();
    int length = 0;
    for (String line = readLine(in); line != null && !line.isEmpty(); line = readLine(in)) {
      int colon = line.indexOf(':');
      String name = line.substring(0, colon);
      String value = line.substring(colon + 1).strip();
      headers.add(new String[] {name, value});
      if (name.toLowerCase(Locale.ROOT).equals("content-length")) {
        length = Integer.parseInt(value);
      }
    }
    return new Response(status, headers, in.readNBytes(length));
  }

  /** True when the server closed the connection (reads end of stream). */
  public boolean closedByServer() throws IOException {
    return in.read() < 0;
  }

  /** A CRLF-terminated line as ISO-8859-1, without the CRLF; null at end of stream. */
  static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : new String(line.toByteArray(), StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
