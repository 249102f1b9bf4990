package dev.conduit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * An open-loop sender: request n is due at start + n / rate whatever happened to the earlier ones
 * (async JDK HttpClient, HTTP/1.1), so a slow server shows as latency, not as a lower rate. Latency is
 * measured from the time a request was due, not from when it went out (no coordinated omission).
 * Every request carries its number in the header {@code X-Bench-Seq}.
 */
final class PacedSender {
  /** One timed run; arrays are indexed by request number. dueNanos and answeredNanos are System.nanoTime(). */
  record Run(int count, double seconds, long[] dueNanos, long[] answeredNanos, int[] status, String[] bodies,
             long errors) {
    long accepted() {
      long n = 0;
      for (int s : status) {
        n += s / 100 == 2 ? 1 : 0;
      }
      return n;
    }

    long rejected() {
      long n = 0;
      for (int s : status) {
        n += s != 0 && s / 100 != 2 ? 1 : 0;
      }
      return n;
    }
  }

  private final HttpClient http = IngestLoad.client(16);

  /** Sends rate requests per second for duration, to targets in turn; waits up to 60 s for the answers. */
  Run run(List<URI> targets, byte[] body, double rate, Duration duration, IntFunction<Long> seqBase)
      throws Exception {
    int count = (int) Math.round(rate * duration.toNanos() / 1e9);
    long[] due = new long[count];
    long[] answered = new long[count];
    int[] status = new int[count];
    String[] bodies = new String[count];
    AtomicLong errors = new AtomicLong();
    CountDownLatch done = new CountDownLatch(count);
    long start = System.nanoTime() + 10_000_000;
    double interval = 1e9 / rate;
    for (int i = 0; i < count; i++) {
      long dueAt = start + (long) (i * interval);
      long wait;
      while ((wait = dueAt - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      due[i] = dueAt;
      int n = i;
      HttpRequest request = HttpRequest.newBuilder(targets.get(i % targets.size()))
          .header("Content-Type", "application/json").header("X-Bench-Seq", Long.toString(seqBase.apply(i)))
          .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
      http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).whenComplete((response, failure) -> {
        answered[n] = System.nanoTime();
        if (failure != null) {
          errors.incrementAndGet();
        } else {
          status[n] = response.statusCode();
          bodies[n] = response.body();
        }
        done.countDown();
      });
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (!done.await(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException((done.getCount()) + " of " + count + " requests unanswered after 60 s");
    }
    return new Run(count, seconds, due, answered, status, bodies, errors.get());
  }
}
