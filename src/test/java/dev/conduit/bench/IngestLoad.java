package dev.conduit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Webhook senders: the JDK HttpClient forced to HTTP/1.1 (no h2c upgrade offer, see README), each sender
 * POSTing one webhook at a time (closed loop) to the endpoints in turn, for a fixed duration. Only 2xx
 * counts as accepted; other statuses and transport errors are counted apart.
 */
final class IngestLoad {
  /** What a round of sending gave. */
  record Result(long accepted, long rejected, long errors, double seconds) {
    double acceptedPerSecond() {
      return accepted / seconds;
    }
  }

  private final HttpClient http;
  private final List<URI> targets;
  private final byte[] body;

  IngestLoad(List<URI> targets, byte[] body, int senders) {
    this.http = client(senders);
    this.targets = List.copyOf(targets);
    this.body = body.clone();
  }

  /** An HTTP/1.1-only client with enough threads for its senders' responses. */
  static HttpClient client(int threads) {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .executor(Executors.newFixedThreadPool(Math.max(2, threads / 8)))
        .connectTimeout(Duration.ofSeconds(10)).build();
  }

  HttpRequest request(int index) {
    return HttpRequest.newBuilder(targets.get(Math.floorMod(index, targets.size())))
        .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
  }

  /** senders threads send back to back until duration is over; then the last requests are awaited. */
  Result run(int senders, Duration duration) throws Exception {
    AtomicLong accepted = new AtomicLong();
    AtomicLong rejected = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong next = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(senders);
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    try {
      List<Future<?>> running = new java.util.ArrayList<>();
      for (int i = 0; i < senders; i++) {
        running.add(pool.submit(() -> {
          while (System.nanoTime() < end) {
            try {
              int status = http.send(request((int) next.getAndIncrement()), HttpResponse.BodyHandlers.discarding())
                  .statusCode();
              (status / 100 == 2 ? accepted : rejected).incrementAndGet();
            } catch (java.io.IOException e) {
              errors.incrementAndGet();
            }
          }
          return null;
        }));
      }
      for (Future<?> sender : running) {
        sender.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return new Result(accepted.get(), rejected.get(), errors.get(), (System.nanoTime() - start) / 1e9);
  }
}
