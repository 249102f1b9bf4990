package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.client.HubClient;
import dev.conduit.hub.client.RunningHubClient;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawDestination;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a sender sends is what the destination gets, byte for byte, or the sender gets an error: raw
 * sockets on both ends (exact bytes in, exact bytes recorded), the real edge and the real hub client.
 */
class WebhookFidelityTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String HUB = "home";
  private static final String SECRET = "hub-secret-for-tests";
  private static final String TOKEN = "admin-token";
  private static final String GITHUB_SECRET = "It's a Secret to Everybody";

  private static TestDatabase db;
  private static TestServer edge;
  private static ActorSystem<Void> hubSystem;
  private static RunningHubClient hub;
  private static RawDestination destination;
  private static EdgeApi api;

  @BeforeAll
  static void start() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Config edgeConfig = ConfigFactory.parseMap(Map.of(
        "conduit.http.port", port, "conduit.hub.hubs", HUB + ":" + SECRET, "conduit.webhook.admin-token", TOKEN,
        // Hang guards only: a loaded machine must not turn into a 503.
        "conduit.webhook.ingest-timeout", "30s", "conduit.webhook.ask-timeout", "30s"));
    db = TestDatabase.create(TestDatabase.Kind.H2);
    destination = RawDestination.start();
    Path secretFile = db.dataDir().resolve("hub.secret");
    Files.writeString(secretFile, SECRET + "\n");
    edge = TestServer.start(db, edgeConfig);
    hubSystem = ActorSystem.create(Behaviors.empty(), "fidelity-hub");
    hub = HubClient.start(hubSystem, HubClientEndToEndTest.hubSettings(edge.grpcPort(), secretFile));
    api = new EdgeApi(edge.httpBase(), TOKEN);
  }

  @AfterAll
  static void stop() throws Exception {
    hub.close();
    hubSystem.terminate();
    edge.close();
    destination.close();
    db.close();
  }

  /**
   * A lone 0xE9 (Latin-1 "é", not UTF-8) used to make pekko-http's parser take the CRLF after it and the
   * whole next header into the value: with the signature header next, 200 "invalid"; with Content-Length
   * next, 200 "received" for an empty body. Now: 400 invalid_header, nothing stored, connection closed.
   */
  @Test
  void aHeaderValueThatIsNotUtf8IsRefusedNotStoredAltered() throws Exception {
    String github = HubClientEndToEndTest.createEndpoint(api, "github-raw", "github", GITHUB_SECRET,
        destination.url("/github-raw"));
    String body = "{\"n\":1}";
    String signature = "sha256=" + HubClientEndToEndTest.hmacHex(GITHUB_SECRET, body);
    for (String next : List.of("X-Hub-Signature-256: " + signature, "Content-Length: 7")) {
      String other = next.startsWith("X-Hub") ? "Content-Length: 7" : "X-Hub-Signature-256: " + signature;
      byte[] request = RawHttp.latin1("POST /h/" + github + " HTTP/1.1\r\nHost: edge\r\n"
          + "Content-Type: application/json\r\n" + other + "\r\nX-Note: caf\u00e9\r\n" + next + "\r\n\r\n" + body);
      try (RawHttp http = RawHttp.connect(edge.port())) {
        http.write(request);
        RawHttp.Response response = http.readResponse();
        assertEquals(400, response.status(), response.body());
        assertEquals("invalid_header", EdgeApi.MAPPER.readTree(response.body()).path("error").asText());
        assertEquals("close", response.header("Connection"));
        assertTrue(http.closedWithoutReply(), "the connection is closed after the refusal");
      }
    }
    JsonNode stored = api.admin("GET", "/api/webhooks?endpoint=" + github, null).json();
    assertEquals(0, stored.path("webhooks").size(), "nothing stored: " + stored);
  }

  /** A clean request through the same raw path is stored and delivered with the header exactly as sent. */
  @Test
  void aSignedWebhookWithAnAsciiNoteIsDeliveredWithItsBytes() throws Exception {
    String github = HubClientEndToEndTest.createEndpoint(api, "github-ok", "github", GITHUB_SECRET,
        destination.url("/github-ok"));
    String body = "{\"n\":1}";
    String signature = "sha256=" + HubClientEndToEndTest.hmacHex(GITHUB_SECRET, body);
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + github
        + " HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nX-Note: cafe\r\n"
        + "X-Hub-Signature-256: " + signature + "\r\nContent-Length: 7\r\n\r\n" + body));
    assertEquals(200, response.status(), response.body());
    JsonNode ingested = EdgeApi.MAPPER.readTree(response.body());
    assertEquals("verified", ingested.path("signature").asText());
    api.awaitStatus(ingested.path("id").asText(), "delivered", TIMEOUT);
    RawDestination.Request received = only("/github-ok");
    assertArrayEquals(body.getBytes(StandardCharsets.UTF_8), received.body());
    assertTrue(received.headerLines().contains("X-Note: cafe") || received.headerLines().contains("x-note: cafe"),
        "got " + received.headerLines());
  }

  /** The ingest URL's query string is stored, shown, and appended to the destination's own query. */
  @Test
  void theQueryStringIsStoredShownAndForwarded() throws Exception {
    String endpoint = api.createEndpoint("query", destination.url("/query?x=1"), HUB);
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + endpoint
        + "?token=abc&list=a%2Cb HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
        + "Content-Length: 2\r\n\r\n{}"));
    assertEquals(200, response.status(), response.body());
    String id = EdgeApi.MAPPER.readTree(response.body()).path("id").asText();
    JsonNode delivered = api.awaitStatus(id, "delivered", TIMEOUT);
    assertEquals("token=abc&list=a%2Cb", delivered.path("query").asText());
    assertEquals("/query?x=1&token=abc&list=a%2Cb", only("/query").target());
  }

  /** Over max-header-count (64 by default) request headers: 431 with the JSON error shape, not plain 400. */
  @Test
  void tooManyHeadersIs431Json() throws Exception {
    String endpoint = api.createEndpoint("many-headers", destination.url("/many-headers"), HUB);
    StringBuilder head = new StringBuilder("POST /h/" + endpoint + " HTTP/1.1\r\nHost: edge\r\n"
        + "Content-Length: 2\r\n");
    for (int i = 0; i < 63; i++) {
      head.append("X-H").append(i).append(": v\r\n");
    }
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1(head + "\r\n{}"));
    assertEquals(431, response.status(), response.body());
    JsonNode error = EdgeApi.MAPPER.readTree(response.body());
    assertEquals("too_many_headers", error.path("error").asText());
    assertEquals("More than 64 request headers", error.path("message").asText());
    JsonNode stored = api.admin("GET", "/api/webhooks?endpoint=" + endpoint, null).json();
    assertEquals(0, stored.path("webhooks").size());
  }

  /** A Content-Type pekko-http cannot parse used to become application/octet-stream; it is kept as sent. */
  @Test
  void anUnparseableContentTypeIsForwardedAsSent() throws Exception {
    String endpoint = api.createEndpoint("odd-type", destination.url("/odd-type"), HUB);
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + endpoint
        + " HTTP/1.1\r\nHost: edge\r\nContent-Type: not a type\r\nContent-Length: 2\r\n\r\n{}"));
    assertEquals(200, response.status(), response.body());
    api.awaitStatus(EdgeApi.MAPPER.readTree(response.body()).path("id").asText(), "delivered", TIMEOUT);
    List<String> contentTypes = only("/odd-type").headerLines().stream()
        .filter(line -> line.toLowerCase(java.util.Locale.ROOT).startsWith("content-type:")).toList();
    assertEquals(List.of("content-type: not a type"), contentTypes);
  }

  /**
   * A UTF-8 header value (an emoji: bytes F0 9F 9A 80) arrives as those bytes, and a sender that sent no
   * User-Agent gets none added: the destination sees the sender's headers and only the framing ones.
   * The JDK client used to drop the value (it sends only ASCII) and add {@code User-Agent: Java-http-client}.
   */
  @Test
  void utf8HeaderBytesArriveExactlyAndNoHeaderIsAdded() throws Exception {
    String endpoint = api.createEndpoint("utf8-title", destination.url("/utf8-title"), HUB);
    // The value's UTF-8 bytes as chars U+0000..U+00FF: RawHttp.latin1 writes each as its byte.
    String title = new String("deploy \uD83D\uDE80".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + endpoint
        + " HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nX-Title: " + title
        + "\r\nContent-Length: 2\r\n\r\n{}"));
    assertEquals(200, response.status(), response.body());
    api.awaitStatus(EdgeApi.MAPPER.readTree(response.body()).path("id").asText(), "delivered", TIMEOUT);
    RawDestination.Request received = only("/utf8-title");
    assertEquals(List.of("content-type: application/json", "x-title: " + title),
        received.headerLinesExcept("Host", "Content-Length").stream().sorted().toList());
    assertEquals(List.of("Content-Length: 2"), received.headerLinesExcept("Host", "Content-Type", "X-Title"));
    assertArrayEquals("{}".getBytes(StandardCharsets.UTF_8), received.body());
  }

  /**
   * Content-Type arrives as sent, or not at all when none was sent. pekko-http parses it into its model
   * before any route runs, so it used to arrive as pekko-http renders it: charset dropped, lower-cased,
   * quotes removed, and a missing one as application/octet-stream.
   */
  @Test
  void contentTypeArrivesAsSent() throws Exception {
    List<String> sent = List.of("application/json; charset=utf-8", "Application/JSON",
        "application/x-thing; profile=\"x\"", "text/plain;charset=\"UTF-8\"", "");
    int n = 0;
    for (String contentType : sent) {
      String path = "/content-type-" + n++;
      String endpoint = api.createEndpoint("content-type-" + n, destination.url(path), HUB);
      String header = contentType.isEmpty() ? "" : "Content-Type: " + contentType + "\r\n";
      RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + endpoint
          + " HTTP/1.1\r\nHost: edge\r\n" + header + "Content-Length: 2\r\n\r\n{}"));
      assertEquals(200, response.status(), response.body());
      api.awaitStatus(EdgeApi.MAPPER.readTree(response.body()).path("id").asText(), "delivered", TIMEOUT);
      assertEquals(contentType.isEmpty() ? List.of() : List.of("content-type: " + contentType),
          only(path).headerLinesExcept("Host", "Content-Length"), "sent: " + contentType);
    }
  }

  /** A header sent on several lines arrives on as many lines, in the order sent; used to be joined with ", ". */
  @Test
  void repeatedHeadersArriveAsSeparateLinesInOrder() throws Exception {
    String endpoint = api.createEndpoint("repeated", destination.url("/repeated"), HUB);
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + endpoint
        + " HTTP/1.1\r\nHost: edge\r\nX-Tag: a\r\nX-Other: z\r\nX-Tag: b, c\r\nx-tag: d\r\n"
        + "Content-Length: 2\r\n\r\n{}"));
    assertEquals(200, response.status(), response.body());
    api.awaitStatus(EdgeApi.MAPPER.readTree(response.body()).path("id").asText(), "delivered", TIMEOUT);
    RawDestination.Request received = only("/repeated");
    assertEquals(List.of("x-tag: a", "x-tag: b, c", "x-tag: d"), received.headerLinesExcept("Host",
        "Content-Length", "X-Other"));
    assertEquals(List.of("x-other: z"), received.headerLinesExcept("Host", "Content-Length", "X-Tag"));
  }

  /**
   * UTF-8 values in the U+0080..U+00FF range (café: 63 61 66 C3 A9) and a tab inside a value travel
   * byte-exact; they used to be refused with invalid_header (pekko-http's decoding of them is ambiguous).
   */
  @Test
  void utf8LatinValuesAndTabsArriveExactly() throws Exception {
    String github = HubClientEndToEndTest.createEndpoint(api, "github-cafe", "github", GITHUB_SECRET,
        destination.url("/cafe"));
    String cafe = new String("caf\u00e9 d\u00e9j\u00e0 \uD83D\uDE80".getBytes(StandardCharsets.UTF_8),
        StandardCharsets.ISO_8859_1);
    String body = "{\"n\":2}";
    String signature = "sha256=" + HubClientEndToEndTest.hmacHex(GITHUB_SECRET, body);
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + github
        + " HTTP/1.1\r\nHost: edge\r\nX-Title: " + cafe + "\r\nX-Tabbed: a\tb\r\n"
        + "X-Hub-Signature-256: " + signature + "\r\nContent-Length: 7\r\n\r\n" + body));
    assertEquals(200, response.status(), response.body());
    JsonNode ingested = EdgeApi.MAPPER.readTree(response.body());
    assertEquals("verified", ingested.path("signature").asText());
    api.awaitStatus(ingested.path("id").asText(), "delivered", TIMEOUT);
    RawDestination.Request received = only("/cafe");
    assertEquals(List.of("x-tabbed: a\tb", "x-title: " + cafe),
        received.headerLinesExcept("Host", "Content-Length", "X-Hub-Signature-256"));
  }

  /**
   * Pipelined requests on one connection (a chunked one with a trailer and a body that looks like a head,
   * then a Content-Length one) each arrive with their own head: the capture below pekko-http stays in step.
   */
  @Test
  void pipelinedRequestsKeepTheirOwnHeads() throws Exception {
    String endpoint = api.createEndpoint("pipelined", destination.url("/pipelined"), HUB);
    String fakeHead = "POST /h/x HTTP/1.1\r\nContent-Type: wrong\r\n\r\n";
    String chunk = Integer.toHexString(fakeHead.length()) + ";ext=1\r\n" + fakeHead + "\r\n";
    byte[] requests = RawHttp.latin1("POST /h/" + endpoint + "?n=1 HTTP/1.1\r\nHost: edge\r\n"
        + "Content-Type: Text/Plain; A=1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "0\r\nX-Trailer: t\r\n\r\n"
        + "POST /h/" + endpoint + "?n=2 HTTP/1.1\r\nHost: edge\r\nContent-Type: application/JSON;x=\"2\"\r\n"
        + "Content-Length: " + fakeHead.length() + "\r\n\r\n" + fakeHead);
    try (RawHttp http = RawHttp.connect(edge.port())) {
      http.write(requests);
      for (int i = 0; i < 2; i++) {
        RawHttp.Response response = http.readResponse();
        assertEquals(200, response.status(), response.body());
        api.awaitStatus(EdgeApi.MAPPER.readTree(response.body()).path("id").asText(), "delivered", TIMEOUT);
      }
    }
    EdgeApi.await(() -> destination.requests().stream().filter(r -> r.target().startsWith("/pipelined")).count() == 2,
        TIMEOUT, () -> "two requests to /pipelined");
    for (RawDestination.Request received : destination.requests()) {
      if (received.target().startsWith("/pipelined")) {
        String expected = received.target().endsWith("n=1") ? "content-type: Text/Plain; A=1"
            : "content-type: application/JSON;x=\"2\"";
        assertEquals(List.of(expected), received.headerLinesExcept("Host", "Content-Length"), received.target());
        assertArrayEquals(RawHttp.latin1(fakeHead), received.body());
      }
    }
  }

  /**
   * Once a connection's bytes can no longer be followed (here: a WebSocket upgrade offered and refused, after
   * which pekko-http goes on reading HTTP but the scanner cannot know it will), an ingest on it is refused
   * with invalid_header rather than stored with headers that may not be what was sent.
   */
  @Test
  void anIngestWhoseHeadWasNotCapturedIsRefused() throws Exception {
    String endpoint = api.createEndpoint("not-captured", destination.url("/not-captured"), HUB);
    try (RawHttp http = RawHttp.connect(edge.port())) {
      http.write(RawHttp.latin1("GET /h/" + endpoint + " HTTP/1.1\r\nHost: edge\r\nUpgrade: websocket\r\n"
          + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
      assertEquals(405, http.readResponse().status());
      http.write(RawHttp.latin1("POST /h/" + endpoint + " HTTP/1.1\r\nHost: edge\r\nContent-Length: 2\r\n\r\n{}"));
      RawHttp.Response response = http.readResponse();
      assertEquals(400, response.status(), response.body());
      JsonNode error = EdgeApi.MAPPER.readTree(response.body());
      assertEquals("invalid_header", error.path("error").asText());
      assertTrue(error.path("message").asText().contains("WebSocket upgrade offered"), error.toString());
    }
    JsonNode stored = api.admin("GET", "/api/webhooks?endpoint=" + endpoint, null).json();
    assertEquals(0, stored.path("webhooks").size(), "nothing stored: " + stored);
  }

  /**
   * A signature header sent on two lines is verified as its combined value (any v1 entry matches, as
   * Standard Webhooks' libraries read it) and still reaches the destination as the two lines sent.
   */
  @Test
  void aSignatureHeaderOnTwoLinesIsVerifiedAndForwardedAsTwoLines() throws Exception {
    byte[] key = "a key of thirty-two bytes, no...".getBytes(StandardCharsets.US_ASCII);
    String endpoint = HubClientEndToEndTest.createEndpoint(api, "sw-two-lines", "standard-webhooks",
        "whsec_" + java.util.Base64.getEncoder().encodeToString(key), destination.url("/sw-two-lines"));
    String body = "{\"type\":\"x\"}";
    String now = Long.toString(java.time.Instant.now().getEpochSecond());
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
    String good = "v1," + java.util.Base64.getEncoder().encodeToString(
        mac.doFinal(("msg_2." + now + "." + body).getBytes(StandardCharsets.UTF_8)));
    String bad = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    RawHttp.Response response = RawHttp.exchange(edge.port(), RawHttp.latin1("POST /h/" + endpoint
        + " HTTP/1.1\r\nHost: edge\r\nwebhook-id: msg_2\r\nwebhook-timestamp: " + now + "\r\n"
        + "webhook-signature: " + bad + "\r\nwebhook-signature: " + good + "\r\nContent-Length: "
        + body.length() + "\r\n\r\n" + body));
    assertEquals(200, response.status(), response.body());
    JsonNode ingested = EdgeApi.MAPPER.readTree(response.body());
    assertEquals("verified", ingested.path("signature").asText());
    api.awaitStatus(ingested.path("id").asText(), "delivered", TIMEOUT);
    assertEquals(List.of("webhook-signature: " + bad, "webhook-signature: " + good),
        only("/sw-two-lines").headerLinesExcept("Host", "Content-Length", "webhook-id", "webhook-timestamp"));
  }

  private static RawDestination.Request only(String path) throws InterruptedException {
    EdgeApi.await(() -> destination.requests().stream().anyMatch(r -> r.target().startsWith(path)), TIMEOUT,
        () -> "a request to " + path);
    List<RawDestination.Request> matching = destination.requests().stream()
        .filter(r -> r.target().startsWith(path)).toList();
    assertEquals(1, matching.size());
    return matching.get(0);
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }
}
