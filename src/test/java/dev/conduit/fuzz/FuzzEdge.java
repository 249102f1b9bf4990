package dev.conduit.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A real relay for a fuzz corpus, with well-behaved peers beside the bad input: a registered instance
 * and a client paired with it over a Noise session, a connected hub that delivers to a local HTTP
 * destination, and an unsigned endpoint for known-good webhooks. {@link #assertStillServes} checks
 * all of them still work, and that a hub connecting afresh gets a webhook ingested afterwards.
 */
final class FuzzEdge implements AutoCloseable {
  static final Duration HANG = Duration.ofSeconds(10);
  static final String TOKEN = "fuzz-admin-token";
  static final String HUB = "home";
  static final String HUB_SECRET = "home-secret";
  /** A second hub for gRPC cases that connect successfully (a connect would replace the good hub). */
  static final String FUZZ_HUB = "fuzz";
  static final String FUZZ_HUB_SECRET = "fuzz-secret";
  static final int MAX_FRAME_BYTES = 16 * 1024;
  static final int MAX_BODY_BYTES = 4096;

  final TestDatabase db;
  final TestServer server;
  final TestDestination destination;
  final EdgeApi api;
  final SimulatedInstance instance;
  final SimulatedClient client;
  final String plainEndpoint;
  private TestHub hub;
  private long lastConnectSecond;

  FuzzEdge() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    Map<String, Object> config = new HashMap<>();
    config.put("conduit.tunnel.max-frame-bytes", MAX_FRAME_BYTES);
    // The corpus opens many sockets and sends many connects from 127.0.0.1: limits out of the way.
    config.put("conduit.tunnel.rate-limit.burst", 1_000_000);
    config.put("conduit.tunnel.rate-limit.per-second", 1_000_000);
    config.put("conduit.connections.max-per-address", 100_000);
    config.put("conduit.hub.hubs", HUB + ":" + HUB_SECRET + "," + FUZZ_HUB + ":" + FUZZ_HUB_SECRET);
    config.put("conduit.webhook.admin-token", TOKEN);
    // The admin corpus sends many bad tokens from 127.0.0.1: each must get its 401, not the throttle's 429.
    config.put("conduit.webhook.admin-auth.max-failures", 1_000_000);
    config.put("conduit.webhook.max-body-bytes", MAX_BODY_BYTES);
    // Bad signatures are refused (401) rather than stored as unverified: a determinable answer per case.
    config.put("conduit.webhook.reject-unverified", "on");
    config.put("conduit.webhook.retry-min-backoff", "100ms");
    config.put("conduit.webhook.sweep-interval", "100ms");
    config.put("conduit.webhook.offer-retry-interval", "500ms");
    server = TestServer.start(db, ConfigFactory.parseMap(config));
    destination = TestDestination.start();
    api = new EdgeApi(server.httpBase(), TOKEN);
    instance = SimulatedInstance.start(server.wsBase(), UUID.randomUUID().toString(), KeyPair.generate(),
        Duration.ofSeconds(30), HANG);
    client = SimulatedClient.connectToInstance(server.wsBase(), instance.instanceId(), HANG);
    hub = connectHub();
    assertTrue(hub.awaitConnectResponse(HANG).getSuccess(), "good hub connects");
    plainEndpoint = api.createEndpoint("plain", destination.url("/plain"), HUB);
  }

  /** The well-behaved peers still work; call after a corpus. */
  void assertStillServes(String context) throws Exception {
    String why = context + " (" + FuzzSeed.reproduce() + ")";
    byte[] data = ("still relaying after " + context).getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(data, client.echo(data), "the Noise session beside the corpus, both ways: " + why);
    assertEquals(200, api.send("GET", "/healthz", null, Map.of()).status(), "healthz: " + why);
    String body = "{\"after\":\"" + context + "\",\"n\":" + UUID.randomUUID().hashCode() + "}";
    String id = api.ingestOk(plainEndpoint, body);
    JsonNode status = api.awaitStatus(id, "delivered", Duration.ofSeconds(30));
    assertEquals(200, status.path("last_status_code").asInt(), why);
    assertTrue(destination.requests("/plain").stream().anyMatch(r -> r.bodyText().equals(body)),
        "the good hub delivered the webhook ingested after the corpus: " + why);
  }

  /** A hub connecting after the corpus authenticates and gets a webhook ingested after it. */
  void assertFreshHubServes(String context) throws Exception {
    hub.close();
    hub = connectHub();
    assertTrue(hub.awaitConnectResponse(HANG).getSuccess(), "a fresh hub connects after " + context);
    assertStillServes(context + ", fresh hub");
  }

  /**
   * A good hub with a timestamp never used before: two connects in the same second would carry the same
   * signature, which the edge rightly refuses as a replay.
   */
  private TestHub connectHub() {
    lastConnectSecond = Math.max(java.time.Instant.now().getEpochSecond(), lastConnectSecond + 1);
    return TestHub.connect(server.grpcPort(), HUB, HUB_SECRET, lastConnectSecond);
  }

  @Override
  public void close() throws Exception {
    hub.close();
    client.close();
    instance.close();
    destination.close();
    server.close();
    db.close();
  }
}
