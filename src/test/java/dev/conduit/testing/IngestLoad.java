package dev.conduit.testing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Collectors;

/**
 * Concurrent webhook senders for fault tests. Sender s owns the endpoints e with e % senders == s and
 * POSTs to them round-robin, one request at a time, so each endpoint's ingest order is n = 0, 1, 2…
 * whatever the interleaving across senders. Every POST must get a 200: anything else fails the load.
 */
public final class IngestLoad {

  /** A webhook the edge answered 200 for: its id, the endpoint's index, its sequence number there. */
  public record Accepted(String id, int endpoint, int n, String body) {}

  private final ConcurrentLinkedQueue<Accepted> accepted = new ConcurrentLinkedQueue<>();
  private final CompletableFuture<List<Accepted>> done = new CompletableFuture<>();

  private IngestLoad() {}

  /**
   * Starts the senders (daemon threads). body(endpointIndex, n) is the payload to send.
   */
  public static IngestLoad start(EdgeApi api, List<String> endpoints, int senders, int perEndpoint,
                                 BiFunction<Integer, Integer, String> body) {
    IngestLoad load = new IngestLoad();
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (int s = 0; s < senders; s++) {
      int sender = s;
      CompletableFuture<Void> finished = new CompletableFuture<>();
      all.add(finished);
      Thread thread = new Thread(() -> {
        try {
          for (int n = 0; n < perEndpoint; n++) {
            for (int e = sender; e < endpoints.size(); e += senders) {
              String text = body.apply(e, n);
              String id = api.ingestOk(endpoints.get(e), text);
              load.accepted.add(new Accepted(id, e, n, text));
            }
          }
          finished.complete(null);
        } catch (Throwable t) {
          finished.completeExceptionally(t);
        }
      }, "ingest-sender-" + s);
      thread.setDaemon(true);
      thread.start();
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((ok, failure) -> {
      if (failure != null) {
        load.done.completeExceptionally(failure);
      } else {
        load.done.complete(List.copyOf(load.accepted));
      }
    });
    return load;
  }

  /** {"endpoint":e,"n":n} */
  public static String simpleBody(int endpoint, int n) {
    return "{\"endpoint\":" + endpoint + ",\"n\":" + n + "}";
  }

  public boolean finished() {
    return done.isDone();
  }

  /** Waits for every sender; rethrows the first failed ingest. */
  public List<Accepted> await(long seconds) throws Exception {
    return done.get(seconds, TimeUnit.SECONDS);
  }

  /** Accepted so far (all of them once {@link #finished()}). */
  public List<Accepted> acceptedSoFar() {
    return List.copyOf(accepted);
  }

  /** Per endpoint index, the accepted webhook ids in ingest order. */
  public static Map<Integer, List<String>> idsInOrder(List<Accepted> accepted) {
    return accepted.stream().sorted(Comparator.comparingInt(Accepted::n))
        .collect(Collectors.groupingBy(Accepted::endpoint, Collectors.mapping(Accepted::id, Collectors.toList())));
  }
}
