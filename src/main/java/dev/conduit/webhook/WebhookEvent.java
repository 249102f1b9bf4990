package dev.conduit.webhook;

import dev.conduit.persistence.JsonSerializable;
import dev.conduit.webhook.signature.Verdict;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A change of a webhook's delivery state: what an endpoint entity applies to its queue
 * ({@link EndpointState#apply}) and writes as a row change of the {@code webhooks} table. Versions before
 * the table journaled them (tag "webhook"); {@link JournalImport} reads those once. Serialized as JSON
 * (Jackson); their former names ({@code WebhookEndpoint$Received}, …) still read, see
 * {@link RenamedWebhookClasses}.
 */
public sealed interface WebhookEvent extends JsonSerializable {

  String webhookId();

  /** When the change happened (for {@link Received}: when the webhook was received). */
  Instant at();

  /**
   * A webhook was accepted (the sender got its 2xx once this was stored). headers: lower-cased names to
   * values; byte strings ({@link HeaderBytes}) when headerBytes is true, text (as pekko-http decoded it) in
   * events stored before that, where headerBytes is absent (null). query: the ingest URL's raw query string
   * (without "?"), null when there was none (and in older events).
   */
  record Received(String webhookId, Instant receivedAt, Map<String, String> headers, byte[] body,
                  Verdict verdict, String query, Boolean headerBytes) implements WebhookEvent {

    @Override
    public Instant at() {
      return receivedAt;
    }

    /** The header values as byte strings, whichever way they were stored. */
    public Map<String, String> headerByteStrings() {
      if (Boolean.TRUE.equals(headerBytes)) {
        return headers;
      }
      Map<String, String> converted = new LinkedHashMap<>();
      headers.forEach((name, value) -> converted.put(name, HeaderBytes.fromText(value)));
      return converted;
    }
  }

  /** The hub connection took the webhook for this attempt (1-based). */
  record Dispatched(String webhookId, int attempt, Instant at) implements WebhookEvent {}

  /** The hub acknowledged success; the webhook leaves the queue. */
  record Delivered(String webhookId, int statusCode, Instant at) implements WebhookEvent {}

  /** The hub reported a failure after attempt; offered again from nextRetryAt. */
  record RetryScheduled(String webhookId, int attempt, Instant nextRetryAt, int statusCode, String error,
                        Instant at) implements WebhookEvent {}

  /** Permanently failed (the hub said so, or its endpoint was deleted); parked, replayable. */
  record Failed(String webhookId, int statusCode, String error, Instant at) implements WebhookEvent {}

  /** Queued longer than dead-letter-after; parked, replayable. */
  record DeadLettered(String webhookId, Instant at) implements WebhookEvent {}

  /** Its hub connection went away (or never acknowledged it): due again at once. */
  record Requeued(String webhookId, Instant at) implements WebhookEvent {}

  /** A parked webhook was put back at the tail of the queue by an operator. */
  record Replayed(String webhookId, Instant at) implements WebhookEvent {}
}
