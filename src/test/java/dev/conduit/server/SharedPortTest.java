package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * gRPC on the public port ({@code grpc-on-http-port}): the hub's h2c stream and the senders' HTTP/1.1 share
 * one port, chosen per connection on its first bytes ({@link PrefaceSwitch}). HTTP/1.1 senders get what
 * they get on a port without gRPC: headers stored exactly as sent, and an h2c upgrade offer answered over
 * HTTP/1.1 whatever the body's size. pekko-http's own combined binding re-rendered Content-Type and
 * upgraded such offers, then lost bodies over ~64 KB. A webhook sent over HTTP/2 is refused, not altered.
 */
class SharedPortTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String TOKEN = "t";
  private static final String HUB = "home";
  private static final String SECRET = "s3cret";
  private static final int LARGE_BODY = 200_000;

  private static TestDatabase db;
  private static TestServer server;
  private static TestHub hub;
  private static EdgeApi api;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(db, ConfigFactory.parseMap(Map.of("conduit.hub.hubs", HUB + ":" + SECRET,
        "conduit.hub.grpc-port", ChildServer.freePort(), "conduit.hub.grpc-on-http-port", true,
        "conduit.webhook.admin-token", TOKEN)));
    // A hub that records what it is pushed and never delivers it (no acknowledgement needed here).
    long now = Instant.now().getEpochSecond();
    hub = TestHub.raw(server.port(), List.of(TestHub.connectRequest(HUB, now, HubSignature.sign(HUB, now, SECRET))));
    assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
    api = new EdgeApi(server.httpBase(), TOKEN);
  }

  @AfterAll
  static void stop() throws Exception {
    hub.close();
    TestServer.close(server, db);
  }

  @Test
  void headersOverHttp11ArriveExactlyAsSent() throws Exception {
    String endpoint = api.createEndpoint("exact", "http://127.0.0.1:9/x", HUB);
    String cafe = new String("caf\u00e9".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    RawHttp.Response response = RawHttp.exchange(server.port(), RawHttp.latin1("POST /h/" + endpoint
        + " HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json; charset=utf-8\r\nX-Title: " + cafe
        + "\r\nX-Tag: a\r\nX-Tag: b\r\nContent-Length: 2\r\n\r\n{}"));
    assertEquals(200, response.status(), response.body());
    WebhookEnvelope pushed = awaitWebhook(EdgeApi.MAPPER.readTree(response.body()).path("id").asText());
    assertEquals(Map.of("content-type", "application/json; charset=utf-8", "x-title", cafe, "x-tag", "a\nb"),
        pushed.getHeadersMap());
  }

  /** The JDK HttpClient's default offers h2c on a cleartext POST; the answer comes over HTTP/1.1. */
  @Test
  void h2cUpgradeOfferWithALargeBodyIsAnsweredOverHttp11() throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    assertEquals(HttpClient.Version.HTTP_2, client.version(), "the JDK default offers the upgrade");
    for (int i = 0; i < 3; i++) {
      // One endpoint each: the hub does not acknowledge, so an endpoint's next webhook would wait.
      String endpoint = api.createEndpoint("upgrade" + i, "http://127.0.0.1:9/x", HUB);
      byte[] body = new byte[LARGE_BODY + i];
      new Random(i).nextBytes(body);
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(server.httpBase().resolve("/h/" + endpoint))
          .timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      assertEquals(HttpClient.Version.HTTP_1_1, response.version());
      String id = EdgeApi.MAPPER.readTree(response.body()).path("id").asText();
      assertArrayEquals(body, awaitWebhook(id).getPayload().toByteArray());
    }
  }

  @Test
  void aWebhookOverHttp2IsRefusedNotAltered() throws Exception {
    String endpoint = api.createEndpoint("h2", "http://127.0.0.1:9/x", HUB);
    ActorSystem<Void> client = ActorSystem.create(Behaviors.empty(), "h2-sender");
    try {
      var response = Source.single(org.apache.pekko.http.javadsl.model.HttpRequest.create("/h/" + endpoint)
              .withMethod(HttpMethods.POST)
              .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, "{}")))
          .via(Http.get(client).connectionTo("127.0.0.1").toPort(server.port()).http2WithPriorKnowledge())
          .runWith(Sink.head(), client)
          .toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      String body = response.entity().toStrict(TIMEOUT.toMillis(), client).toCompletableFuture()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).getData().utf8String();
      assertEquals(505, response.status().intValue(), body);
      JsonNode error = EdgeApi.MAPPER.readTree(body);
      assertEquals("http_version_not_supported", error.path("error").asText());
      EdgeApi.Response list = api.admin("GET", "/api/webhooks?endpoint=" + endpoint, null);
      assertEquals(0, list.json().path("webhooks").size(), list.body());
    } finally {
      client.terminate();
    }
  }

  private static WebhookEnvelope awaitWebhook(String id) throws Exception {
    return EdgeApi.awaitValue(() -> hub.webhooks().stream().filter(w -> w.getId().equals(id)).findFirst().orElse(null),
        w -> w != null, TIMEOUT, "webhook " + id + " pushed to the hub");
  }
}
