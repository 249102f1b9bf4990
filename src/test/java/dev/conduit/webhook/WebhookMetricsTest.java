package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.MetricsScrape;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_35_0.Metrics.MetricType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * The webhook and hub metrics on a real relay after real traffic: HTTP ingest, a real gRPC hub delivering
 * to a real destination, scraped from GET /metrics and parsed with the Prometheus library's protobuf classes.
 */
class WebhookMetricsTest {
  private static final String TOKEN = "admin-token";
  private static final String HUB = "home";
  private static final String SECRET = "home-secret";
  private static final String GITHUB_SECRET = "gh-secret";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void ingestQueueDeliveryFailureAndHubAreCounted() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", HUB + ":" + SECRET,
             "conduit.webhook.admin-token", TOKEN,
             "conduit.webhook.sweep-interval", "100ms",
             "conduit.webhook.offer-retry-interval", "200ms",
             "conduit.metrics.top-endpoints", "1")));
         TestDestination destination = TestDestination.start(request -> request.path().equals("/b") ? 422 : 200)) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String unsigned = api.createEndpoint("a", destination.url("/a"), HUB);
      EdgeApi.Response created = api.admin("POST", "/api/endpoints", EdgeApi.MAPPER.createObjectNode()
          .put("name", "b").put("provider", "github").put("secret", GITHUB_SECRET)
          .put("destination_url", destination.url("/b")).put("hub_id", HUB).toString());
      assertEquals(201, created.status(), created.toString());
      String signed = created.json().path("id").asText();

      MetricsScrape before = MetricsScrape.of(server.httpBase(), null);
      assertEquals(MetricType.HISTOGRAM, before.family("conduit_webhook_ingest_duration_seconds").getType());
      assertEquals(0.0, before.value("conduit_webhook_queued"));
      assertEquals(0.0, before.value("conduit_hubs_connected"));

      // The hub is offline: everything stays queued.
      for (int i = 0; i < 3; i++) {
        api.ingestOk(unsigned, "{\"n\":" + i + "}");
      }
      String body = "{\"signed\":true}";
      assertEquals("verified", ingestGithub(api, signed, body, githubSignature(body)));
      assertEquals("invalid", ingestGithub(api, signed, body, "sha256=" + "00".repeat(32)));

      MetricsScrape queued = MetricsScrape.of(server.httpBase(), null);
      assertEquals(3.0, queued.value("conduit_webhook_received_total", "signature", "unsigned"));
      assertEquals(1.0, queued.value("conduit_webhook_received_total", "signature", "verified"));
      assertEquals(1.0, queued.value("conduit_webhook_received_total", "signature", "invalid"));
      assertEquals(MetricType.COUNTER, queued.family("conduit_webhook_received_total").getType());
      assertEquals(5, queued.histogramCount("conduit_webhook_ingest_duration_seconds"));
      assertTrue(queued.histogramSum("conduit_webhook_ingest_duration_seconds") > 0);
      // At least one journal write per batch of received webhooks; bursts may share one.
      assertTrue(queued.histogramCount("conduit_webhook_journal_write_seconds") >= 1);
      assertEquals(5.0, queued.value("conduit_webhook_queued"));
      // top-endpoints = 1: only the deepest queue has its own series.
      assertEquals(1, queued.series("conduit_webhook_endpoint_queued").size(), queued.families().toString());
      assertEquals(3.0, queued.value("conduit_webhook_endpoint_queued", "endpoint", unsigned));

      try (TestHub hub = TestHub.connect(server.grpcPort(), HUB, SECRET)) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        MetricsScrape done = EdgeApi.awaitValue(() -> scrape(server),
            m -> m.value("conduit_webhook_delivered_total") == 3 && m.value("conduit_webhook_failed_total") == 2,
            TIMEOUT, "3 delivered and 2 failed (the destination answers 422 for the signed endpoint)");
        assertEquals(1.0, done.value("conduit_hubs_connected"));
        assertEquals(0.0, done.value("conduit_webhook_queued"));
        assertEquals(0, done.series("conduit_webhook_endpoint_queued").size());
        assertEquals(0.0, done.value("conduit_webhook_dead_lettered_total"));
        assertEquals(3, done.histogramCount("conduit_webhook_ingest_to_ack_seconds"));
        assertTrue(done.histogramSum("conduit_webhook_ingest_to_ack_seconds") > 0);
        // Received batches, then one awaited write per failed outcome (2); a delivered status rides along
        // with a later commit (WebhookWriter.writeLater), which no entity waits for, so it is not one.
        assertTrue(done.histogramCount("conduit_webhook_journal_write_seconds")
            >= queued.histogramCount("conduit_webhook_journal_write_seconds") + 2);
      }
      EdgeApi.awaitValue(() -> scrape(server), m -> m.value("conduit_hubs_connected") == 0, TIMEOUT,
          "no hub connected once it closed");
    }
  }

  @Test
  void deadLettersAreCountedAndLeaveTheQueue() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", HUB + ":" + SECRET,
             "conduit.webhook.admin-token", TOKEN,
             "conduit.webhook.sweep-interval", "100ms",
             "conduit.webhook.dead-letter-after", "1s")))) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String endpoint = api.createEndpoint("a", "http://127.0.0.1:9/never", HUB);
      api.ingestOk(endpoint, "{}");
      api.ingestOk(endpoint, "{}");
      MetricsScrape after = EdgeApi.awaitValue(() -> scrape(server),
          m -> m.value("conduit_webhook_dead_lettered_total") == 2, TIMEOUT, "2 dead-lettered (no hub connected)");
      assertEquals(0.0, after.value("conduit_webhook_queued"));
      assertEquals(0.0, after.value("conduit_webhook_delivered_total"));
      assertEquals(2.0, after.value("conduit_webhook_received_total", "signature", "unsigned"));
    }
  }

  private static MetricsScrape scrape(TestServer server) {
    try {
      return MetricsScrape.of(server.httpBase(), null);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String ingestGithub(EdgeApi api, String endpoint, String body, String signature) throws Exception {
    EdgeApi.Response response = api.send("POST", "/h/" + endpoint, body,
        Map.of("Content-Type", "application/json", "X-Hub-Signature-256", signature));
    assertEquals(200, response.status(), response.toString());
    return response.json().path("signature").asText();
  }

  private static String githubSignature(String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(GITHUB_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }
}
