package dev.conduit.webhook;

import dev.conduit.webhook.signature.Provider;
import java.time.Instant;

/** A webhook endpoint: where senders post ({@code /h/{id}}) and where its hub delivers them. secret may be null. */
public record Endpoint(String id, String name, Provider provider, String secret, String destinationUrl,
                       String hubId, Instant createdAt, Instant updatedAt) {}
