package dev.conduit.webhook;

import dev.conduit.persistence.Database;
import dev.conduit.webhook.EndpointState.Webhook;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentPersistenceIdsQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One-time import of webhooks that versions before the {@code webhooks} table journaled as
 * {@link WebhookEvent}s of the persistence ids {@code WebhookEndpoint|<endpoint id>}: each endpoint's
 * events are folded with {@link EndpointState#apply} (the same transitions the entity uses), and every
 * webhook becomes a row with its payload and final status: delivered, failed and dead-lettered ones as
 * history, queued ones (received, dispatched, retrying) still queued, inserted last in their queue order.
 * Events were never deleted (snapshots only shortened recovery), so folding from the first event gives the
 * state the old entity had.
 *
 * <p>Runs at start-up before any endpoint entity, in one transaction together with the row
 * {@code journal-import} of {@code webhook_migrations}: it runs once, and a crash part-way leaves nothing
 * behind, so the next start runs it again. The journal rows are left as they are (they are no longer read).
 */
public final class JournalImport {
  private static final Logger LOG = LoggerFactory.getLogger(JournalImport.class);
  static final String NAME = "journal-import";
  private static final String PREFIX = "WebhookEndpoint|";

  private JournalImport() {}

  /** Imports unless done before; completes with the number of webhooks imported (0 when skipped). */
  public static CompletionStage<Integer> runOnce(ActorSystem<?> system, Database database, String readJournalPluginId,
                                                 Duration timeout) {
    return database.withConnection("import webhooks from the journal", c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS webhook_migrations (name VARCHAR(64) PRIMARY KEY, done_at BIGINT NOT NULL)");
      }
      if (done(c)) {
        return 0;
      }
      org.apache.pekko.persistence.query.javadsl.ReadJournal journal = PersistenceQuery.get(system)
          .getReadJournalFor(org.apache.pekko.persistence.query.javadsl.ReadJournal.class, readJournalPluginId);
      List<String> ids = await(((CurrentPersistenceIdsQuery) journal).currentPersistenceIds()
          .filter(id -> id.startsWith(PREFIX))
          .runWith(Sink.seq(), system), timeout);
      c.setAutoCommit(false);
      try {
        int imported = 0;
        for (String persistenceId : ids) {
          List<Object> events = await(((CurrentEventsByPersistenceIdQuery) journal)
              .currentEventsByPersistenceId(persistenceId, 0L, Long.MAX_VALUE)
              .map(EventEnvelope::event)
              .runWith(Sink.seq(), system), timeout);
          List<WebhookTable.Write> writes = rows(persistenceId.substring(PREFIX.length()), events);
          WebhookTable.write(c, writes);
          imported += (int) writes.stream().filter(w -> w instanceof WebhookTable.Insert).count();
        }
        try (PreparedStatement s = c.prepareStatement("INSERT INTO webhook_migrations (name, done_at) VALUES (?, ?)")) {
          s.setString(1, NAME);
          s.setLong(2, System.currentTimeMillis());
          s.executeUpdate();
        }
        c.commit();
        if (imported > 0 || !ids.isEmpty()) {
          LOG.info("webhooks imported from the journal endpoints={} webhooks={}", ids.size(), imported);
        }
        return imported;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    });
  }

  /** The result of a read-journal stream, waited for on this (blocking) thread. */
  private static <T> T await(CompletionStage<T> stage, Duration timeout) throws SQLException {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted while reading the journal", e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new SQLException("cannot read the journal: " + e, e);
    }
  }

  private static boolean done(Connection c) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM webhook_migrations WHERE name = ?")) {
      s.setString(1, NAME);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * The rows for one endpoint's journaled events (in journal order): inserts with the final state of each
   * webhook (an insert, then an update to that state, so queue position and status both hold), history
   * first in receipt order, then the queue in its order.
   */
  static List<WebhookTable.Write> rows(String endpointId, List<Object> journaled) {
    EndpointState state = EndpointState.EMPTY;
    Map<String, WebhookEvent.Received> payloads = new HashMap<>();
    List<String> receivedOrder = new ArrayList<>();
    Map<String, Webhook> finished = new HashMap<>();
    Map<String, Instant> updatedAt = new HashMap<>();
    for (Object journaledEvent : journaled) {
      Object event = journaledEvent instanceof Tagged tagged ? tagged.payload() : journaledEvent;
      if (!(event instanceof WebhookEvent e)) {
        continue;
      }
      EndpointState before = state;
      state = EndpointState.apply(before, e);
      if (e instanceof WebhookEvent.Received r && !payloads.containsKey(r.webhookId())) {
        payloads.put(r.webhookId(), r);
        receivedOrder.add(r.webhookId());
      }
      updatedAt.put(e.webhookId(), e.at());
      if (e instanceof WebhookEvent.Delivered d) {
        before.queued(d.webhookId()).ifPresent(w -> finished.put(w.id(), new Webhook(w.id(), w.seqNr(),
            w.receivedAt(), w.queuedAt(), w.verdict(), DeliveryStatus.DELIVERED, w.attempts(), null, d.statusCode(),
            null)));
      }
    }
    List<WebhookTable.Write> writes = new ArrayList<>();
    for (String id : receivedOrder) {
      Webhook history = state.parked().containsKey(id) ? state.parked().get(id) : finished.get(id);
      if (history != null) {
        writes.add(new WebhookTable.Insert(endpointId, payloads.get(id)));
        writes.add(new WebhookTable.Update(history, updatedAt.get(id), false));
      }
    }
    for (Webhook queued : state.queue()) {
      WebhookEvent.Received payload = payloads.get(queued.id());
      if (payload != null) {
        writes.add(new WebhookTable.Insert(endpointId, payload));
        writes.add(new WebhookTable.Update(queued, updatedAt.get(queued.id()), false));
      }
    }
    return writes;
  }
}
