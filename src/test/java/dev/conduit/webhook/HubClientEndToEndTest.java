package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.client.HubClient;
import dev.conduit.hub.client.HubClientSettings;
import dev.conduit.hub.client.RunningHubClient;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestServer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * The whole webhook relay with the production hub client as the home side: HTTP ingest → journal →
 * gRPC stream → HubClient → a local HTTP service → ACK → delivered, across an edge restart.
 */
class HubClientEndToEndTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String HUB = "home";
  private static final String SECRET = "hub-secret-for-tests";
  private static final String TOKEN = "admin-token";
  private static final String GITHUB_SECRET = "It's a Secret to Everybody";

  @Test
  void webhooksReachTheLocalServiceThroughTheRealHubClientAcrossAnEdgeRestart() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    int grpcPort = dev.conduit.testing.ChildServer.freePort();
    Config edgeConfig = ConfigFactory.parseMap(Map.of(
        "conduit.http.port", port, "conduit.hub.grpc-port", grpcPort, "conduit.hub.hubs", HUB + ":" + SECRET, "conduit.webhook.admin-token", TOKEN));
    AtomicInteger flaky = new AtomicInteger();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestDestination destination = TestDestination.start(request -> switch (request.path()) {
           case "/gone" -> 404;
           case "/flaky" -> flaky.incrementAndGet() == 1 ? 500 : 200;
           default -> 200;
         })) {
      Path secretFile = db.dataDir().resolve("hub.secret");
      Files.writeString(secretFile, SECRET + "\n");
      ActorSystem<Void> hubSystem = ActorSystem.create(Behaviors.empty(), "home-hub");
      try {
        String github;
        String plain;
        List<String> ordered = new ArrayList<>();
        try (TestServer edge = TestServer.start(db, edgeConfig);
             RunningHubClient hub = HubClient.start(hubSystem, hubSettings(grpcPort, secretFile))) {
          EdgeApi api = new EdgeApi(edge.httpBase(), TOKEN);
          github = createEndpoint(api, "github", "github", GITHUB_SECRET, destination.url("/github"));
          plain = api.createEndpoint("plain", destination.url("/plain"), HUB);
          String gone = api.createEndpoint("gone", destination.url("/gone"), HUB);
          String flakyEndpoint = api.createEndpoint("flaky", destination.url("/flaky"), HUB);

          String body = "{\"action\":\"opened\"}";
          EdgeApi.Response signed = api.send("POST", "/h/" + github, body, Map.of(
              "Content-Type", "application/json", "X-Hub-Signature-256", "sha256=" + hmacHex(GITHUB_SECRET, body),
              "X-GitHub-Event", "pull_request"));
          assertEquals(200, signed.status(), signed.body());
          assertEquals("verified", signed.json().path("signature").asText());
          String signedId = signed.json().path("id").asText();
          for (int i = 0; i < 20; i++) {
            ordered.add(api.ingestOk(plain, "{\"n\":" + i + "}"));
          }
          String goneId = api.ingestOk(gone, "{}");
          String flakyId = api.ingestOk(flakyEndpoint, "{}");

          api.awaitStatus(signedId, "delivered", TIMEOUT);
          TestDestination.Request received = destination.requests("/github").get(0);
          assertEquals(body, received.bodyText());
          assertEquals("pull_request", received.header("X-GitHub-Event"), "original headers are forwarded");
          for (String id : ordered) {
            api.awaitStatus(id, "delivered", TIMEOUT);
          }
          assertEquals(ordered.size(), destination.requests("/plain").size());
          for (int i = 0; i < ordered.size(); i++) {
            assertEquals("{\"n\":" + i + "}", destination.requests("/plain").get(i).bodyText(), "order per endpoint");
          }
          api.awaitStatus(goneId, "failed", TIMEOUT);
          assertEquals(200, api.awaitStatus(flakyId, "delivered", TIMEOUT).path("last_status_code").asInt());
          assertEquals(2, flaky.get(), "500 was retried once, then 200");

          // The edge goes away; the hub client keeps trying and reconnects to its successor by itself.
          edge.close();
          try (TestServer restarted = TestServer.start(db, edgeConfig)) {
            EdgeApi again = new EdgeApi(restarted.httpBase(), TOKEN);
            String afterRestart = again.ingestOk(plain, "{\"n\":20}");
            again.awaitStatus(afterRestart, "delivered", TIMEOUT);
            assertEquals("{\"n\":20}", destination.requests("/plain").get(20).bodyText());
            assertEquals(1, destination.requests("/gone").size(), "a 404 is not retried");
          }
          EdgeApi.await(() -> hub.stats().connects() >= 2, TIMEOUT, () -> "hub reconnected: " + hub.stats());
        }
      } finally {
        hubSystem.terminate();
      }
    }
  }

  static HubClientSettings hubSettings(int port, Path secretFile) {
    Map<String, Object> values = new HashMap<>(Map.of(
        "edge-url", "http://127.0.0.1:" + port, "hub-id", HUB, "secret-file", secretFile.toString(),
        "backoff-min", "200ms", "backoff-max", "1s"));
    Map<String, Object> config = new HashMap<>();
    values.forEach((key, value) -> config.put(HubClientSettings.PATH + "." + key, value));
    return HubClientSettings.from(ConfigFactory.parseMap(config).withFallback(ConfigFactory.load()));
  }

  static String createEndpoint(EdgeApi api, String name, String provider, String secret, String url)
      throws Exception {
    String body = EdgeApi.MAPPER.createObjectNode().put("name", name).put("provider", provider).put("secret", secret)
        .put("destination_url", url).put("hub_id", HUB).toString();
    EdgeApi.Response response = api.admin("POST", "/api/endpoints", body);
    assertEquals(201, response.status(), response.body());
    return response.json().path("id").asText();
  }

  static String hmacHex(String secret, String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return java.util.HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }
}
