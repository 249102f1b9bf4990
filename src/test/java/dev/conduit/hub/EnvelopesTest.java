package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.webhook.DeliveryProtocol;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvelopesTest {
  @Test
  void everyFieldOfTheOfferReachesTheEnvelope() {
    Instant at = Instant.parse("2026-01-01T00:00:01.000000123Z");
    byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    WebhookEnvelope envelope = Envelopes.of(new DeliveryProtocol.Offer("home", "ep", "w1", "http://home.lan/hook",
        at, Map.of("content-type", "application/json"), body, "x=1&y", 3));
    assertEquals("w1", envelope.getId());
    assertEquals("ep", envelope.getEndpointId());
    assertEquals("http://home.lan/hook", envelope.getDestinationUrl());
    assertEquals(at.getEpochSecond(), envelope.getReceivedAt().getSeconds());
    assertEquals(123, envelope.getReceivedAt().getNanos());
    assertEquals(Map.of("content-type", "application/json"), envelope.getHeadersMap());
    assertArrayEquals(body, envelope.getPayload().toByteArray());
    assertEquals("x=1&y", envelope.getQuery());
    assertEquals(3, envelope.getAttempt());
    assertEquals("", Envelopes.of(new DeliveryProtocol.Offer("home", "ep", "w2", "http://h", at, Map.of(),
        new byte[0], null, 1)).getQuery(), "no query: the field stays unset");
  }
}
