package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Events and snapshots journaled under the classes' former names (WebhookEndpoint$…) still read. */
class RenamedWebhookClassesTest {
  private static final ActorTestKit KIT = ActorTestKit.create(ConfigFactory.load());

  @AfterAll
  static void shutDown() {
    KIT.shutdownTestKit();
  }

  private static Object read(String manifest, String json) throws Exception {
    var serializer = (SerializerWithStringManifest) SerializationExtension.get(KIT.system())
        .serializerFor(WebhookEvent.Delivered.class);
    return serializer.fromBinary(json.getBytes(StandardCharsets.UTF_8), manifest);
  }

  @Test
  void formerEventAndSnapshotManifestsReadAsTodaysClasses() throws Exception {
    var delivered = assertInstanceOf(WebhookEvent.Delivered.class, read("dev.conduit.webhook.WebhookEndpoint$Delivered",
        "{\"webhookId\":\"w1\",\"statusCode\":200,\"at\":\"2026-01-01T00:00:00Z\"}"));
    assertEquals(new WebhookEvent.Delivered("w1", 200, Instant.parse("2026-01-01T00:00:00Z")), delivered);

    var received = assertInstanceOf(WebhookEvent.Received.class, read("dev.conduit.webhook.WebhookEndpoint$Received",
        "{\"webhookId\":\"w2\",\"receivedAt\":\"2026-01-01T00:00:00Z\",\"headers\":{},\"body\":\"e30=\","
            + "\"verdict\":\"UNSIGNED\",\"query\":\"a=1\",\"headerBytes\":true}"));
    assertEquals("{}", new String(received.body(), StandardCharsets.UTF_8));
    assertEquals("a=1", received.query());

    var state = assertInstanceOf(EndpointState.class, read("dev.conduit.webhook.WebhookEndpoint$State",
        "{\"queue\":[{\"id\":\"w2\",\"seqNr\":1,\"receivedAt\":\"2026-01-01T00:00:00Z\","
            + "\"queuedAt\":\"2026-01-01T00:00:00Z\",\"verdict\":\"UNSIGNED\",\"status\":\"RETRYING\",\"attempts\":2,"
            + "\"nextRetryAt\":\"2026-01-01T00:01:00Z\",\"lastStatusCode\":503,\"lastError\":\"busy\"}],"
            + "\"parked\":{},\"seqNr\":7}"));
    assertEquals(7, state.seqNr());
    assertEquals(DeliveryStatus.RETRYING, state.head().orElseThrow().status());
    assertEquals(2, state.head().orElseThrow().attempts());
  }
}
