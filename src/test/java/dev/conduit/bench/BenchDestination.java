package dev.conduit.bench;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The webhook destination of the end-to-end benchmarks, in the benchmark JVM (JDK HttpServer on loopback):
 * answers 200 to everything and records, for POSTs under /hook/, the first arrival of each X-Bench-Seq
 * (System.nanoTime()); later arrivals of the same number are counted as duplicates.
 */
final class BenchDestination implements AutoCloseable {
  private static final int BACKLOG = 1024;
  private static final int THREADS = 8;
  private final Map<Long, Long> arrivals = new ConcurrentHashMap<>();
  private final AtomicLong duplicates = new AtomicLong();
  private final HttpServer server;

  private BenchDestination() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), BACKLOG);
    server.setExecutor(Executors.newFixedThreadPool(THREADS));
    server.createContext("/", exchange -> {
      long now = System.nanoTime();
      exchange.getRequestBody().readAllBytes();
      String seq = exchange.getRequestHeaders().getFirst("X-Bench-Seq");
      if (seq != null && exchange.getRequestURI().getPath().startsWith("/hook/")) {
        long n = Long.parseLong(seq);
        if (n >= 0 && arrivals.putIfAbsent(n, now) != null) {
          duplicates.incrementAndGet();
        }
      }
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.start();
  }

  static BenchDestination start() throws Exception {
    return new BenchDestination();
  }

  /** http://127.0.0.1:port, no trailing slash. */
  String base() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** seq → System.nanoTime() of its first arrival. */
  Map<Long, Long> arrivals() {
    return arrivals;
  }

  long duplicates() {
    return duplicates.get();
  }

  /** Forgets the arrivals and duplicates so far (before a measured round). */
  void clear() {
    arrivals.clear();
    duplicates.set(0);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
