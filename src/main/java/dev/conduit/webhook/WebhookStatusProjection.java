package dev.conduit.webhook;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import dev.conduit.persistence.PersistFailures;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code webhook_status} consistent with the journal: a stream over {@code eventsByTag("webhook")}
 * of the JDBC read journal, starting after the stored offset, writing each batch of rows together with
 * the new offset in one transaction. Effectively exactly-once: a crash between journal and table is
 * caught up from the stored offset on the next start. Restarts with backoff when the database fails.
 */
public final class WebhookStatusProjection {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookStatusProjection.class);

  private WebhookStatusProjection() {}

  public static UniqueKillSwitch start(ActorSystem<?> system, WebhookStatusTable table, int batchSize) {
    JdbcReadJournal journal = PersistenceQuery.get(system)
        .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    RestartSettings restart = PersistFailures.DATABASE_BACKOFF.restartSettings();
    Source<Done, ?> source = RestartSource.withBackoff(restart, () ->
        Source.completionStageSource(CompletableFuture.supplyAsync(() -> {
              try {
                return table.offset();
              } catch (java.sql.SQLException e) {
                throw new IllegalStateException("cannot read the projection offset: " + e.getMessage(), e);
              }
            }, system.dispatchers().lookup(DispatcherSelector.blocking()))
            .thenApply(offset -> {
              LOG.debug("webhook_status projection starting after journal ordering {}", offset);
              return journal.eventsByTag(WebhookEvent.TAG, Offset.sequence(offset));
            }))
            .groupedWithin(batchSize, Duration.ofMillis(20))
            .mapAsync(1, envelopes -> CompletableFuture.supplyAsync(() -> {
              List<WebhookStatusTable.Change> changes = new ArrayList<>(envelopes.size());
              for (EventEnvelope envelope : envelopes) {
                if (envelope.event() instanceof WebhookEvent event) {
                  long ordering = ((org.apache.pekko.persistence.query.Sequence) envelope.offset()).value();
                  changes.add(new WebhookStatusTable.Change(ordering,
                      WebhookEndpoint.endpointIdOf(envelope.persistenceId()), event));
                }
              }
              try {
                table.apply(changes);
              } catch (java.sql.SQLException e) {
                LOG.warn("webhook_status projection failed, restarting: {}", e.getMessage());
                throw new IllegalStateException(e);
              }
              return Done.getInstance();
            }, system.dispatchers().lookup(DispatcherSelector.blocking()))));
    return source.viaMat(KillSwitches.single(), Keep.right()).to(Sink.ignore()).run(system);
  }
}
