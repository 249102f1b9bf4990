package dev.conduit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 in front of a local port whose live connections a test can cut at any moment:
 * both sockets are reset (SO_LINGER 0), like a network failure. Nothing written to a cut connection
 * reaches the other side. New connections are accepted as before.
 */
public final class CuttableProxy implements AutoCloseable {
  private record Link(Socket inbound, Socket outbound) {
    void reset() {
      for (Socket socket : List.of(inbound, outbound)) {
        try {
          socket.setSoLinger(true, 0);
          socket.close();
        } catch (IOException alreadyClosed) {
          // nothing to cut
        }
      }
    }
  }

  private final ServerSocket server;
  private final int targetPort;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile boolean closed;

  private CuttableProxy(ServerSocket server, int targetPort) {
    this.server = server;
    this.targetPort = targetPort;
  }

  public static CuttableProxy start(int targetPort) throws IOException {
    CuttableProxy proxy = new CuttableProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), targetPort);
    daemon("proxy-accept", proxy::acceptLoop);
    return proxy;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Connections accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  /** Resets every live connection; returns how many there were. */
  public int cut() {
    int count = 0;
    for (Link link : links) {
      if (links.remove(link)) {
        link.reset();
        count++;
      }
    }
    return count;
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket inbound = server.accept();
        Socket outbound;
        try {
          outbound = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        } catch (IOException targetDown) {
          inbound.close();
          continue;
        }
        inbound.setTcpNoDelay(true);
        outbound.setTcpNoDelay(true);
        Link link = new Link(inbound, outbound);
        // Registered before any byte flows, so a cut always covers a connection that carried data.
        links.add(link);
        accepted.incrementAndGet();
        daemon("proxy-up", () -> pump(link, inbound, outbound));
        daemon("proxy-down", () -> pump(link, outbound, inbound));
      } catch (IOException e) {
        if (!closed) {
          throw new IllegalStateException("proxy accept failed", e);
        }
      }
    }
  }

  private void pump(Link link, Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream()) {
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
      }
    } catch (IOException cutOrClosed) {
      // the link ends either way
    }
    if (links.remove(link)) {
      link.reset();
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    cut();
  }
}
