package dev.conduit.webhook;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByTagQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Reads one webhook as it was received (headers, body, query) back from the journal, for the operators'
 * {@code GET /api/webhooks/{id}/payload}. The read table keeps the journal ordering of each webhook's
 * {@link WebhookEvent.Received} event ({@link WebhookStatusTable.Row#seq()}), so this is one indexed
 * read of the tagged event stream at that ordering, never a replay of the endpoint's history.
 */
@FunctionalInterface
public interface StoredWebhooks {

  /**
   * The Received event at journal ordering {@code ordering}, when it is that webhook's; empty when the
   * journal holds something else there (deleted events), never a different webhook's payload.
   */
  CompletionStage<Optional<WebhookEvent.Received>> load(long ordering, String webhookId);

  /** Backed by a read journal plugin that orders tagged events by a global sequence (the JDBC one). */
  static StoredWebhooks fromReadJournal(ActorSystem<?> system, String readJournalPluginId) {
    CurrentEventsByTagQuery journal = PersistenceQuery.get(system)
        .getReadJournalFor(CurrentEventsByTagQuery.class, readJournalPluginId);
    // An offset means "after this ordering": ask from the one before, take the first event, and check it.
    return (ordering, webhookId) -> journal.currentEventsByTag(WebhookEvent.TAG, Offset.sequence(ordering - 1))
        .take(1)
        .runWith(Sink.headOption(), system)
        .thenApply(envelope -> envelope
            .filter(e -> e.offset() instanceof Sequence seq && seq.value() == ordering)
            .map(EventEnvelope::event)
            .filter(event -> event instanceof WebhookEvent.Received received
                && received.webhookId().equals(webhookId))
            .map(WebhookEvent.Received.class::cast));
  }
}
