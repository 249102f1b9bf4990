package dev.conduit.hub;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.webhook.DeliveryProtocol;

/** Builds the gRPC message a hub receives for a webhook ({@code WebhookEnvelope}, ../shared/PROTOCOLS.md §2). */
final class Envelopes {
  private Envelopes() {}

  /** The offer as the hub's wire message; copies the payload once (protobuf's ByteString is immutable). */
  static WebhookEnvelope of(DeliveryProtocol.Offer offer) {
    WebhookEnvelope.Builder envelope = WebhookEnvelope.newBuilder();
    if (offer.query() != null) {
      envelope.setQuery(offer.query());
    }
    return envelope
        .setId(offer.webhookId())
        .setEndpointId(offer.endpointId())
        .setDestinationUrl(offer.destinationUrl())
        .setReceivedAt(Timestamp.newBuilder().setSeconds(offer.receivedAt().getEpochSecond())
            .setNanos(offer.receivedAt().getNano()))
        .putAllHeaders(offer.headers())
        .setPayload(ByteString.copyFrom(offer.payload()))
        .setAttempt(offer.attempt())
        .build();
  }
}
