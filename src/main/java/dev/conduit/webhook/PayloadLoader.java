package dev.conduit.webhook;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Reads a webhook's payload (its {@link WebhookEvent.Received} event) back from the journal by
 * sequence number. The entity's state keeps only metadata, so snapshots and memory stay small however
 * large the backlog; the payload is read when the webhook reaches the head of its queue.
 */
@FunctionalInterface
public interface PayloadLoader {

  /** Fails when the event is not there (or not a Received). */
  CompletionStage<WebhookEvent.Received> load(String persistenceId, long sequenceNr);

  /** Backed by a read journal plugin (the JDBC one in production, the testkit's in tests). */
  static PayloadLoader fromReadJournal(ActorSystem<?> system, String readJournalPluginId) {
    CurrentEventsByPersistenceIdQuery journal = PersistenceQuery.get(system)
        .getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, readJournalPluginId);
    return (persistenceId, sequenceNr) -> journal.currentEventsByPersistenceId(persistenceId, sequenceNr, sequenceNr)
        .runWith(Sink.headOption(), system)
        .thenApply(envelope -> {
          Object event = envelope.map(EventEnvelope::event).orElseThrow(() -> new IllegalStateException(
              "event " + persistenceId + "#" + sequenceNr + " not found in the journal"));
          if (event instanceof Tagged tagged) {
            event = tagged.payload();
          }
          if (event instanceof WebhookEvent.Received received) {
            return received;
          }
          throw new IllegalStateException("event " + persistenceId + "#" + sequenceNr + " is a "
              + event.getClass().getSimpleName() + ", not a webhook");
        });
  }
}
