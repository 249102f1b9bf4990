package dev.conduit.webhook;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Group commit for the {@code webhooks} table: every endpoint entity hands its writes here, and whatever
 * arrived while the previous transactions were running goes out as one JDBC batch in one transaction
 * (up to {@code write-batch-max} writes), with at most {@code write-parallelism} transactions in flight.
 * Each caller's stage completes once the transaction that carried its writes committed, or fails with
 * it. So one commit carries many webhooks across endpoints; per endpoint, order is the entity's business
 * (it has at most one write in flight).
 *
 * <p>A Pekko stream: a bounded queue ({@code write-queue-size} callers; beyond that a write fails at
 * once, as a database that cannot keep up), {@code batchWeighted} by number of writes, and
 * {@code mapAsyncUnordered} running the JDBC work on the blocking dispatcher.
 */
public final class WebhookWriter {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WebhookWriter.class);

  private record Job(List<WebhookTable.Write> writes, CompletableFuture<Void> done) {}

  private final BoundedSourceQueue<Job> queue;

  public WebhookWriter(ActorSystem<?> system, WebhookTable table, WebhookSettings settings, WebhookMetrics metrics) {
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    this.queue = Source.<Job>queue(settings.writeQueueSize())
        .batchWeighted(settings.writeBatchMax(), job -> (long) job.writes().size(), job -> {
          List<Job> jobs = new ArrayList<>();
          jobs.add(job);
          return jobs;
        }, (jobs, job) -> {
          jobs.add(job);
          return jobs;
        })
        .mapAsyncUnordered(settings.writeParallelism(), jobs -> CompletableFuture.runAsync(() -> commit(table, jobs, metrics),
            blocking))
        .to(Sink.ignore())
        .run(system);
  }

  /** Completes once writes are committed; fails when their transaction failed (or the queue is full). */
  public CompletionStage<Void> write(List<WebhookTable.Write> writes) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    QueueOfferResult result = queue.offer(new Job(writes, done));
    if (result != QueueOfferResult.enqueued()) {
      done.completeExceptionally(new IllegalStateException("webhook writes queue full or closed: " + result));
    }
    return done;
  }

  /** One transaction for the batch; never throws (the stream must live on), each caller learns the outcome. */
  private static void commit(WebhookTable table, List<Job> jobs, WebhookMetrics metrics) {
    List<WebhookTable.Write> all = new ArrayList<>();
    jobs.forEach(job -> all.addAll(job.writes()));
    long started = System.nanoTime();
    try {
      table.write(all);
      metrics.committed(all.size(), started);
      jobs.forEach(job -> job.done().complete(null));
    } catch (SQLException | RuntimeException | Error e) {
      // Error too: the PostgreSQL driver throws AssertionError (under -ea) on a connection killed mid-batch,
      // and an escaping throwable would end the stream and leave every later caller waiting forever.
      LOG.debug("webhook write of {} rows failed: {}", all.size(), e.toString());
      IllegalStateException failure = new IllegalStateException("cannot write webhooks: " + e.getMessage(), e);
      jobs.forEach(job -> job.done().completeExceptionally(failure));
    }
  }
}
