package dev.conduit.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_35_0.Metrics.MetricFamily;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_35_0.Metrics.MetricType;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GET /metrics on a real relay, scraped over HTTP as Prometheus does and parsed with the client
 * library's own protobuf classes (the exposition's parser), not with string matching.
 */
class MetricsTest {
  private static final String TOKEN = "scrape-token";
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private static TestDatabase db;
  private static TestServer server;
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(db, ConfigFactory.parseMap(Map.of("conduit.metrics.bearer-token", TOKEN)));
  }

  @AfterAll
  static void stop() throws Exception {
    TestServer.close(server, db);
  }

  @Test
  void jvmProcessAndTunnelMetricsParseAndCountARelayedSession() throws Exception {
    Map<String, MetricFamily> before = scrape();
    assertEquals(MetricType.GAUGE, before.get("jvm_memory_used_bytes").getType());
    assertTrue(before.containsKey("jvm_gc_collection_seconds"), before.keySet().toString());
    assertTrue(before.containsKey("jvm_threads_current"), before.keySet().toString());
    assertTrue(before.get("process_open_fds").getMetric(0).getGauge().getValue() > 0);
    assertTrue(before.get("process_max_fds").getMetric(0).getGauge().getValue()
        >= before.get("process_open_fds").getMetric(0).getGauge().getValue());
    assertEquals(MetricType.GAUGE, before.get("conduit_tunnel_sessions_open").getType());
    assertEquals(MetricType.COUNTER, before.get("conduit_tunnel_sessions_opened_total").getType());
    double opened = counter(before, "conduit_tunnel_sessions_opened_total");
    double framesToInstance = counter(before, "conduit_tunnel_relayed_frames_total", "direction", "to_instance");
    double framesToClient = counter(before, "conduit_tunnel_relayed_frames_total", "direction", "to_client");
    double closedBefore = counter(before, "conduit_tunnel_sessions_closed_total", "reason", "client_closed");
    double online = before.get("conduit_tunnel_instances_online").getMetric(0).getGauge().getValue();

    byte[] data = "metered".getBytes(StandardCharsets.UTF_8);
    try (SimulatedInstance instance = SimulatedInstance.start(server.wsBase(), UUID.randomUUID().toString(),
        KeyPair.generate(), Duration.ofSeconds(30), TIMEOUT);
         SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), instance.instanceId(), TIMEOUT)) {
      assertArrayEquals(data, client.echo(data));
      Map<String, MetricFamily> during = scrape();
      assertEquals(online + 1, during.get("conduit_tunnel_instances_online").getMetric(0).getGauge().getValue());
      assertEquals(1.0, during.get("conduit_tunnel_sessions_open").getMetric(0).getGauge().getValue());
      assertEquals(opened + 1, counter(during, "conduit_tunnel_sessions_opened_total"));
      // The Noise handshake (two messages) and the echo (two) at least: half each way.
      assertTrue(counter(during, "conduit_tunnel_relayed_frames_total", "direction", "to_instance")
          >= framesToInstance + 2, during.toString());
      assertTrue(counter(during, "conduit_tunnel_relayed_frames_total", "direction", "to_client")
          >= framesToClient + 2, during.toString());
    }
    // The client's close reaches the session actor after the socket closes: wait for it (hang guard).
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    double closed = counter(scrape(), "conduit_tunnel_sessions_closed_total", "reason", "client_closed");
    while (closed < closedBefore + 1 && System.nanoTime() < deadline) {
      Thread.sleep(20); // another actor's bookkeeping: nothing to wait on from here
      closed = counter(scrape(), "conduit_tunnel_sessions_closed_total", "reason", "client_closed");
    }
    assertEquals(closedBefore + 1, closed);
  }

  /** A refused frame and a refused registration are each counted once, under their error code. */
  @Test
  void refusedFramesAndRegistrationsAreCountedByCode() throws Exception {
    try (RelayConnection client = RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT)) {
      Map<String, MetricFamily> before = scrape();
      client.send("{\"type\":\"no_such_type\"}");
      String code = client.expect("error", TIMEOUT).path("code").asText("unspecified");
      assertEquals(refusals(before, code) + 1, refusals(scrape(), code), "refused client frame, code=" + code);
    }
    try (RelayConnection instance = RelayConnection.open(server.wsBase().resolve(SimulatedInstance.TUNNEL_PATH),
        TIMEOUT)) {
      Map<String, MetricFamily> before = scrape();
      instance.send("{\"type\":\"register\",\"instance_id\":\"" + UUID.randomUUID()
          + "\",\"public_key\":\"bm90IGEga2V5\"}");
      // An error frame of the original protocol has no code: counted as "unspecified".
      String code = instance.expect("error", TIMEOUT).path("code").asText("unspecified");
      assertEquals(refusals(before, code) + 1, refusals(scrape(), code), "refused register, code=" + code);
    }
  }

  /** Frames and registrations refused with code (a register can be refused as a frame or by the registry). */
  private static double refusals(Map<String, MetricFamily> families, String code) {
    return counter(families, "conduit_tunnel_frames_refused_total", "code", code)
        + counter(families, "conduit_tunnel_registrations_refused_total", "code", code);
  }

  @Test
  void textFormatByDefaultAndTheTokenIsRequired() throws Exception {
    HttpResponse<String> text = HTTP.send(request().header("Authorization", "Bearer " + TOKEN).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, text.statusCode());
    assertTrue(text.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
        text.headers().toString());
    assertTrue(text.body().contains("# TYPE conduit_tunnel_sessions_open gauge\n"), text.body());

    HttpResponse<String> open = HTTP.send(request().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, open.statusCode());
    assertEquals("unauthorized", dev.conduit.testing.EdgeApi.MAPPER.readTree(open.body()).path("error").asText());
    HttpResponse<String> wrong = HTTP.send(request().header("Authorization", "Bearer nope").build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, wrong.statusCode());
  }

  private static HttpRequest.Builder request() {
    return HttpRequest.newBuilder(server.httpBase().resolve("/metrics")).timeout(TIMEOUT);
  }

  private static Map<String, MetricFamily> scrape() throws Exception {
    return dev.conduit.testing.MetricsScrape.of(server.httpBase(), TOKEN).families();
  }

  private static double counter(Map<String, MetricFamily> families, String name) {
    return families.get(name).getMetric(0).getCounter().getValue();
  }

  /** The series of name whose label has value; 0 when there is none yet (a labelled counter starts absent). */
  private static double counter(Map<String, MetricFamily> families, String name, String label, String value) {
    MetricFamily family = families.get(name);
    if (family == null) {
      return 0;
    }
    return family.getMetricList().stream()
        .filter(m -> m.getLabelList().stream().anyMatch(l -> l.getName().equals(label) && l.getValue().equals(value)))
        .mapToDouble(m -> m.getCounter().getValue()).sum();
  }
}
