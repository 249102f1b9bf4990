package dev.conduit.webhook;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * How endpoint entities and hubs talk, owned by the webhook side and implemented by {@code hub/}:
 * an endpoint {@link Offer}s the head of its queue to its hub; the hub side answers the entity, always
 * by endpoint id through {@link Endpoints}, with an {@link OfferResult}, later an {@link Ack}, or a
 * {@link Requeue} when the connection that held the webhook went away, and a {@link Kick} when there is
 * room again. Nothing here knows gRPC: the hub side builds its envelope from an Offer.
 */
public final class DeliveryProtocol {
  private DeliveryProtocol() {}

  /**
   * One webhook for a hub. headers: lower-cased names to byte strings ({@link HeaderBytes}); payload:
   * the body as received (not copied: never modify it); query: the ingest URL's raw query or null;
   * attempt: 1 for the first push, counting every push the hub accepted before.
   */
  public record Offer(String hubId, String endpointId, String webhookId, String destinationUrl, Instant receivedAt,
                      Map<String, String> headers, byte[] payload, String query, int attempt) {}

  /** What the hub side answers an offer: taken and sent (ACCEPTED), no room now (BUSY), hub not connected. */
  public enum Outcome { ACCEPTED, BUSY, NO_HUB }

  /** Messages the hub side sends to an endpoint entity (by endpoint id, see {@link Endpoints}). */
  public sealed interface ToEndpoint extends WebhookEndpoint.Command {}

  /**
   * The answer to an offer of webhookId for this attempt. connection: which hub connection answered (an
   * opaque id, the one {@link HubGone} names), null when none did (NO_HUB).
   */
  public record OfferResult(String webhookId, int attempt, Outcome outcome, String connection) implements ToEndpoint {
    public OfferResult(String webhookId, int attempt, Outcome outcome) {
      this(webhookId, attempt, outcome, null);
    }
  }

  /**
   * The hub's verdict on a webhook it was sent: success, or a failure that is retried with backoff unless
   * permanentFailure. statusCode: the destination's HTTP status (0 when there was none).
   */
  public record Ack(String webhookId, boolean success, int statusCode, String error, boolean permanentFailure)
      implements ToEndpoint {}

  /** The hub connection that held this webhook ended without acknowledging it: offer it again. */
  public record Requeue(String webhookId) implements ToEndpoint {}

  /**
   * The node that held this hub connection left the cluster without handing back what the connection held
   * (it crashed, so no {@link Requeue} came): a webhook it accepted is offered again now rather than after
   * the ack timeout. connection: the id OfferResult gave.
   */
  public record HubGone(String connection) implements ToEndpoint {}

  /** The hub connected or has room again: offer now, without waiting for the offer-retry interval. */
  public enum Kick implements ToEndpoint { INSTANCE }

  /** The webhook side, as the hub side sees it. */
  public interface Endpoints {
    /** Delivers message to the entity of this endpoint (started if needed); never blocks. */
    void tell(String endpointId, ToEndpoint message);

    /** Ids of the endpoints served by this hub (kicked when it connects). */
    List<String> ofHub(String hubId);
  }

  /** The hub side, as an endpoint entity sees it. */
  @FunctionalInterface
  public interface Hubs {
    /**
     * Routes the offer to its hub's live connection (never blocks); the answer comes back to the endpoint
     * as an {@link OfferResult}, NO_HUB when the hub is not connected.
     */
    void offer(Offer offer);
  }

  /** The hub side, as the admin API and status page see it. */
  public interface HubDirectory {
    /** Ids of the configured hubs (an endpoint may only name one of these). */
    Set<String> configured();

    /** How many configured hubs have a live, authenticated connection now. */
    CompletionStage<Long> connectedCount();
  }

  /** The whole hub side, as the webhook relay is assembled with it. */
  public interface HubSide extends Hubs, HubDirectory {}
}
