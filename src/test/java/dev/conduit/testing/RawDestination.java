package dev.conduit.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A destination that records the exact bytes of each request it gets (request line, header lines, body)
 * and answers 200. Understands Content-Length and chunked bodies; one thread per connection.
 */
public final class RawDestination implements AutoCloseable {

  /** target: the request target as sent; headerLines: each header line's bytes as ISO-8859-1 chars. */
  public record Request(String method, String target, List<String> headerLines, byte[] body) {
    /** Header lines other than those named (case-insensitively), in order. */
    public List<String> headerLinesExcept(String... names) {
      return headerLines.stream().filter(line -> {
        String name = line.substring(0, line.indexOf(':')).toLowerCase(Locale.ROOT);
        for (String n : names) {
          if (n.toLowerCase(Locale.ROOT).equals(name)) {
            return false;
          }
        }
        return true;
      }).toList();
    }
  }

  private final ServerSocket server;
  private final List<Request> requests = new ArrayList<>();
  private final Thread acceptor;

  private RawDestination(ServerSocket server) {
    this.server = server;
    this.acceptor = new Thread(this::acceptLoop, "raw-destination");
    this.acceptor.setDaemon(true);
    this.acceptor.start();
  }

  public static RawDestination start() throws IOException {
    return new RawDestination(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
  }

  public String url(String pathAndQuery) {
    return "http://127.0.0.1:" + server.getLocalPort() + pathAndQuery;
  }

  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        Thread connection = new Thread(() -> serve(socket), "raw-destination-connection");
        connection.setDaemon(true);
        connection.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      while (true) {
        String requestLine = RawHttp.readLine(in);
        if (requestLine == null) {
          return;
        }
        String[] parts = requestLine.split(" ");
        List<String> headerLines = new ArrayList<>();
        long length = 0;
        boolean chunked = false;
        for (String line = RawHttp.readLine(in); line != null && !line.isEmpty(); line = RawHttp.readLine(in)) {
          headerLines.add(line);
          String name = line.substring(0, line.indexOf(':')).toLowerCase(Locale.ROOT);
          String value = line.substring(line.indexOf(':') + 1).strip();
          if (name.equals("content-length")) {
            length = Long.parseLong(value);
          } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
            chunked = true;
          }
        }
        byte[] body = chunked ? readChunked(in) : in.readNBytes((int) length);
        synchronized (requests) {
          requests.add(new Request(parts[0], parts[1], List.copyOf(headerLines), body));
        }
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String sizeLine = RawHttp.readLine(in);
      int size = Integer.parseInt(sizeLine.split(";")[0].strip(), 16);
      if (size == 0) {
        for (String line = RawHttp.readLine(in); line != null && !line.isEmpty(); line = RawHttp.readLine(in)) {
          // trailers: none expected
        }
        return body.toByteArray();
      }
      body.write(in.readNBytes(size));
      RawHttp.readLine(in);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
