package dev.conduit.webhook;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for the {@code webhooks} table: every endpoint entity hands its writes here, and whatever
 * arrived while the previous transactions were running goes out as one JDBC batch in one transaction
 * (up to {@code write-batch-max} writes), with at most {@code write-parallelism} transactions in flight.
 * Each caller's stage completes once the transaction that carried its writes committed, or fails with
 * it. So one commit carries many webhooks across endpoints; per endpoint, order is the entity's business
 * (it has at most one write in flight that it waits for).
 *
 * <p>Status writes nothing waits for ({@link #writeLater}: a webhook taken by a hub, a webhook delivered)
 * do not start a transaction of their own: they ride along with the next one, or after
 * {@code status-write-delay} go out by themselves. One transaction at a time carries them, in the order they
 * were handed in, so two of them for the same row are committed in that order. At a moderate rate a webhook
 * then costs one commit (its insert, carrying earlier status writes) instead of three; a commit's fixed cost
 * (H2 writes its changed B-tree pages per commit) is most of the edge's CPU there.
 *
 * <p>A Pekko stream: a bounded queue ({@code write-queue-size} callers; beyond that a write fails at
 * once, as a database that cannot keep up), {@code batchWeighted} by number of writes, and
 * {@code mapAsyncUnordered} running the JDBC work on the blocking dispatcher.
 */
public final class WebhookWriter {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookWriter.class);

  private record Job(List<WebhookTable.Write> writes, CompletableFuture<Void> done) {}

  private final BoundedSourceQueue<Job> queue;
  private final ActorSystem<?> system;
  private final Duration statusWriteDelay;
  private final int batchMax;
  /** Guards the fields below. */
  private final Object lock = new Object();
  /** Status writes waiting for a transaction to carry them, in the order handed in. */
  private final Deque<Job> later = new ArrayDeque<>();
  /** The status writes the running transaction carries (empty: none runs, the next ones may go). */
  private List<Job> carrying = List.of();
  /** A flush of the waiting status writes is scheduled. */
  private boolean flushScheduled;
  /** Shutting down: waiting status writes go out at once, not after the delay. */
  private boolean draining;
  /** Counts slots (WebhookTable.write) not used by a running transaction: one per write-parallelism. */
  private final Queue<Integer> freeSlots = new ConcurrentLinkedQueue<>();

  public WebhookWriter(ActorSystem<?> system, WebhookTable table, WebhookSettings settings, WebhookMetrics metrics) {
    this.system = system;
    this.statusWriteDelay = settings.statusWriteDelay();
    this.batchMax = settings.writeBatchMax();
    for (int slot = 0; slot < settings.writeParallelism(); slot++) {
      freeSlots.add(slot);
    }
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
        .mapAsyncUnordered(settings.writeParallelism(), jobs -> CompletableFuture.runAsync(
            () -> commit(table, jobs, metrics), blocking))
        .to(Sink.ignore())
        .run(system);
    // A clean shutdown writes what is still waiting, so a restart does not offer delivered webhooks again.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "webhook-status-writes",
        () -> drainLater().thenApply(done -> Done.getInstance()));
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

  /**
   * Status updates that no reply waits for: committed with a later transaction, at most status-write-delay
   * from now (unless the database is slower), in the order given relative to other calls of this method.
   * Completes once committed; fails when their transaction failed.
   */
  public CompletionStage<Void> writeLater(List<WebhookTable.Write> writes) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (lock) {
      later.add(new Job(writes, done));
      scheduleFlush();
    }
    return done;
  }

  /** Completes once every status write handed in so far committed or failed; sends them now. */
  CompletionStage<Void> drainLater() {
    List<CompletableFuture<Void>> waiting = new ArrayList<>();
    synchronized (lock) {
      draining = true;
      later.forEach(job -> waiting.add(job.done()));
      carrying.forEach(job -> waiting.add(job.done()));
    }
    if (waiting.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    startTransaction();
    return CompletableFuture.allOf(waiting.toArray(CompletableFuture[]::new)).handle((done, failure) -> null);
  }

  /** Under lock: make sure waiting status writes go out within the delay even if no other write comes. */
  private void scheduleFlush() {
    if (flushScheduled || later.isEmpty()) {
      return;
    }
    flushScheduled = true;
    system.scheduler().scheduleOnce(statusWriteDelay, () -> {
      synchronized (lock) {
        flushScheduled = false;
      }
      if (!startTransaction()) {
        synchronized (lock) {
          scheduleFlush();
        }
      }
    }, system.executionContext());
  }

  /** The waiting status writes for the transaction about to run, unless another one carries some now. */
  private List<Job> takeLater(int room) {
    synchronized (lock) {
      if (!carrying.isEmpty() || later.isEmpty()) {
        return List.of();
      }
      List<Job> taken = new ArrayList<>();
      int rows = 0;
      while (!later.isEmpty() && (taken.isEmpty() || rows + later.peekFirst().writes().size() <= room)) {
        Job job = later.pollFirst();
        rows += job.writes().size();
        taken.add(job);
      }
      carrying = taken;
      return taken;
    }
  }

  private void laterDone() {
    boolean now;
    synchronized (lock) {
      carrying = List.of();
      now = draining && !later.isEmpty();
      if (!now) {
        scheduleFlush();
      }
    }
    if (now) {
      startTransaction();
    }
  }

  /** An empty job: its transaction is what carries the waiting status writes. False when the queue is full. */
  private boolean startTransaction() {
    return queue.offer(new Job(List.of(), new CompletableFuture<>())) == QueueOfferResult.enqueued();
  }

  /** One transaction for the batch; never throws (the stream must live on), each caller learns the outcome. */
  private void commit(WebhookTable table, List<Job> batch, WebhookMetrics metrics) {
    List<WebhookTable.Write> all = new ArrayList<>();
    batch.forEach(job -> all.addAll(job.writes()));
    List<Job> carried = takeLater(batchMax - all.size());
    carried.forEach(job -> all.addAll(job.writes()));
    List<Job> jobs = new ArrayList<>(batch);
    jobs.addAll(carried);
    long started = System.nanoTime();
    // mapAsyncUnordered runs at most write-parallelism of these at once, so a slot is always free.
    Integer slot = freeSlots.poll();
    try {
      if (!all.isEmpty()) {
        table.write(all, slot);
        metrics.committed(all.size(), started);
      }
      jobs.forEach(job -> job.done().complete(null));
    } catch (SQLException | RuntimeException | Error e) {
      // Error too: the PostgreSQL driver throws AssertionError (under -ea) on a connection killed mid-batch,
      // and an escaping throwable would end the stream and leave every later caller waiting forever.
      LOG.debug("webhook write of {} rows failed: {}", all.size(), e.toString());
      IllegalStateException failure = new IllegalStateException("cannot write webhooks: " + e.getMessage(), e);
      jobs.forEach(job -> job.done().completeExceptionally(failure));
    } finally {
      freeSlots.add(slot);
      if (!carried.isEmpty()) {
        laterDone();
      }
    }
  }
}
