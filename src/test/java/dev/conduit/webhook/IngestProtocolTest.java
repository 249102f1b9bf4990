package dev.conduit.webhook;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * The public ingest path over real sockets in the default configuration: which methods it answers, senders
 * that offer the HTTP/1.1 to h2c upgrade with large bodies, and signature headers as senders' libraries
 * write them.
 */
class IngestProtocolTest {
  private static final Duration TIMEOUT = WebhookRelayEndToEndTest.TIMEOUT;
  private static final String TOKEN = WebhookRelayEndToEndTest.TOKEN;
  private static final String HUB = WebhookRelayEndToEndTest.HUB;
  /** Over the ~64 KB that the h2c upgrade path used to lose, under the default max-body-bytes (1 MiB). */
  private static final int LARGE_BODY = 200_000;

  private static TestServer start(TestDatabase db) throws Exception {
    // Defaults, except the hub and admin token (no max-body-bytes override: the large bodies must fit).
    return TestServer.start(db, com.typesafe.config.ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", HUB + ":" + WebhookRelayEndToEndTest.SECRET,
        "conduit.webhook.admin-token", TOKEN)));
  }

  @Test
  void unknownIdIs404ForEveryMethod_knownIdTakesOnlyPost() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = start(db)) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String known = api.createEndpoint("methods", "http://127.0.0.1:9/unused", HUB);
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      for (String method : List.of("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")) {
        HttpResponse<String> unknown = send(http, server, method, "/h/no-such-endpoint");
        assertEquals(404, unknown.statusCode(), method + " unknown id");
        if (!method.equals("HEAD")) {
          assertEquals("not_found", EdgeApi.MAPPER.readTree(unknown.body()).path("error").asText(), method);
        }
        if (method.equals("POST")) {
          continue;
        }
        HttpResponse<String> other = send(http, server, method, "/h/" + known);
        assertEquals(405, other.statusCode(), method + " known id");
        assertEquals(List.of("POST"), other.headers().allValues("Allow"), method);
        if (!method.equals("HEAD")) {
          assertEquals("method_not_allowed", EdgeApi.MAPPER.readTree(other.body()).path("error").asText(), method);
        }
      }
      assertEquals(200, send(http, server, "POST", "/h/" + known).statusCode());
    }
  }

  private static HttpResponse<String> send(HttpClient http, TestServer server, String method, String path)
      throws Exception {
    HttpRequest.BodyPublisher body = method.equals("POST") || method.equals("PUT") || method.equals("PATCH")
        ? HttpRequest.BodyPublishers.ofString("{}") : HttpRequest.BodyPublishers.noBody();
    return http.send(HttpRequest.newBuilder(server.httpBase().resolve(path)).timeout(TIMEOUT)
        .method(method, body).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** What {@code curl --http2 --data-binary @big http://edge/h/id} writes: the upgrade offer on a POST. */
  @Test
  void h2cUpgradeOfferWithLargeBodyOverRawSocket_servedOverHttp11AndStoredByteExact() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = start(db);
         TestHub hub = TestHub.connect(server.grpcPort(), HUB, WebhookRelayEndToEndTest.SECRET)) {
      assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
      String endpoint = new EdgeApi(server.httpBase(), TOKEN).createEndpoint("curl", "http://127.0.0.1:9/x", HUB);
      byte[] body = randomBytes(LARGE_BODY, 1);
      String head = "POST /h/" + endpoint + " HTTP/1.1\r\n"
          + "Host: 127.0.0.1:" + server.port() + "\r\n"
          + "User-Agent: curl/8.5.0\r\nAccept: */*\r\n"
          + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
          + "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n"
          + "Content-Type: application/octet-stream\r\n"
          + "Content-Length: " + body.length + "\r\n\r\n";
      Map.Entry<String, byte[]> response;
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", server.port()), (int) TIMEOUT.toMillis());
        socket.setSoTimeout((int) TIMEOUT.toMillis());
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(US_ASCII));
        out.write(body);
        out.flush();
        response = readHttp11Response(socket.getInputStream());
      }
      assertTrue(response.getKey().startsWith("HTTP/1.1 200 "), response.getKey());
      String id = EdgeApi.MAPPER.readTree(response.getValue()).path("id").asText();
      assertArrayEquals(body, awaitWebhook(hub, id).getPayload().toByteArray());
    }
  }

  /** The JDK HttpClient's default (HTTP_2) offers h2c on a cleartext POST: Upgrade: h2c + HTTP2-Settings. */
  @Test
  void jdkHttpClientDefaultVersionWithLargeBody_servedAndStoredByteExact() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = start(db);
         TestHub hub = TestHub.connect(server.grpcPort(), HUB, WebhookRelayEndToEndTest.SECRET)) {
      assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      HttpClient client = HttpClient.newHttpClient();
      assertEquals(HttpClient.Version.HTTP_2, client.version(), "the JDK default offers the upgrade");
      for (int i = 0; i < 3; i++) {
        // One endpoint each: the test hub does not acknowledge, so an endpoint's next webhook would wait.
        String endpoint = api.createEndpoint("jdk" + i, "http://127.0.0.1:9/x", HUB);
        byte[] body = randomBytes(LARGE_BODY + i, 10 + i);
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(server.httpBase().resolve("/h/" + endpoint))
                .timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(HttpClient.Version.HTTP_1_1, response.version());
        String id = EdgeApi.MAPPER.readTree(response.body()).path("id").asText();
        assertArrayEquals(body, awaitWebhook(hub, id).getPayload().toByteArray());
      }
    }
  }

  /** A Standard Webhooks header mixing a malformed v1, the good v1 and a v2 entry, and Svix's header names. */
  @Test
  void standardWebhooksMixedEntriesAndSvixNamesVerifyEndToEnd() throws Exception {
    byte[] key = "standard-webhooks-end-to-end-key".getBytes(UTF_8);
    String secret = "whsec_" + Base64.getEncoder().encodeToString(key);
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, com.typesafe.config.ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", HUB + ":" + WebhookRelayEndToEndTest.SECRET,
             "conduit.webhook.admin-token", TOKEN, "conduit.webhook.reject-unverified", true)))) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String created = EdgeApi.MAPPER.createObjectNode().put("name", "sw").put("provider", "standard-webhooks")
          .put("secret", secret).put("destination_url", "http://127.0.0.1:9/x").put("hub_id", HUB).toString();
      EdgeApi.Response endpoint = api.admin("POST", "/api/endpoints", created);
      assertEquals(201, endpoint.status(), endpoint.body());
      String id = endpoint.json().path("id").asText();
      String body = "{\"type\":\"invoice.paid\"}";
      long now = java.time.Instant.now().getEpochSecond();
      String good = "v1," + Base64.getEncoder().encodeToString(hmac(key, "msg_1." + now + "." + body));
      String mixed = "v1,not*base64! " + good + " v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

      for (String prefix : List.of("webhook-", "svix-")) {
        Map<String, String> headers = new HashMap<>(Map.of(prefix + "id", "msg_1",
            prefix + "timestamp", Long.toString(now), prefix + "signature", mixed));
        EdgeApi.Response accepted = api.send("POST", "/h/" + id, body, headers);
        assertEquals(200, accepted.status(), prefix + ": " + accepted.body());
        assertEquals("verified", accepted.json().path("signature").asText(), prefix);
        JsonNode row = api.awaitStatus(accepted.json().path("id").asText(), "received", TIMEOUT);
        assertEquals("verified", row.path("signature").asText(), prefix);
      }
      Map<String, String> wrong = Map.of("webhook-id", "msg_1", "webhook-timestamp", Long.toString(now),
          "webhook-signature", "v1,not*base64! v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=");
      assertEquals(401, api.send("POST", "/h/" + id, body, wrong).status(), "no well-formed v1: still refused");
    }
  }

  /**
   * A sender that stops sending its body mid-way gets 408 body_timeout (its fault, said as such: it used
   * to get 503 "could not be stored" after ingest-timeout, as if the database had failed), the connection
   * is closed, and nothing is stored.
   */
  @Test
  void aBodyThatStopsArrivingIs408AndNothingIsStored() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, com.typesafe.config.ConfigFactory.parseMap(Map.of(
             "conduit.hub.hubs", HUB + ":" + WebhookRelayEndToEndTest.SECRET,
             "conduit.webhook.admin-token", TOKEN, "conduit.webhook.body-timeout", "1s")))) {
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String id = api.createEndpoint("stalled", "http://127.0.0.1:9/unused", HUB);
      try (RawHttp raw = RawHttp.connect("127.0.0.1", server.port(), TIMEOUT)) {
        raw.write("POST /h/" + id + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: 5\r\n\r\n{\"");
        RawHttp.Response response = raw.readResponse();
        assertEquals(408, response.status(), response.body());
        assertEquals("body_timeout", EdgeApi.MAPPER.readTree(response.body()).path("error").asText(), response.body());
        assertEquals("close", response.header("Connection"));
      }
      EdgeApi.Response list = api.admin("GET", "/api/webhooks?endpoint=" + id, null);
      assertEquals(200, list.status(), list.body());
      assertEquals(0, list.json().path("webhooks").size(), list.body());
    }
  }

  private static WebhookEnvelope awaitWebhook(TestHub hub, String id) throws Exception {
    return EdgeApi.awaitValue(() -> hub.webhooks().stream().filter(w -> w.getId().equals(id)).findFirst().orElse(null),
        w -> w != null, TIMEOUT, "webhook " + id + " pushed to the hub");
  }

  private static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static byte[] hmac(byte[] key, String data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return mac.doFinal(data.getBytes(UTF_8));
  }

  /** Status line and body (Content-Length framed) of one HTTP/1.x response; fails on anything else. */
  private static Map.Entry<String, byte[]> readHttp11Response(InputStream in) throws Exception {
    ByteArrayOutputStream headBytes = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new AssertionError("connection closed before the response head: " + headBytes.toString(US_ASCII));
      }
      headBytes.write(b);
      matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String[] lines = headBytes.toString(US_ASCII).split("\r\n");
    int length = -1;
    for (String line : lines) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).strip());
      }
    }
    if (length < 0) {
      throw new AssertionError("no Content-Length in: " + headBytes.toString(US_ASCII));
    }
    return Map.entry(lines[0], in.readNBytes(length));
  }
}
