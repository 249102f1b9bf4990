package dev.conduit.fuzz;

import static dev.conduit.fuzz.FuzzEdge.HANG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import dev.conduit.testing.EdgeApi;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated HTTP corpora against a real edge: malformed webhooks ({@link IngestRequestCorpus}),
 * malformed operator requests ({@link AdminRequestCorpus}), malformed dashboard requests
 * ({@link DashboardRequestCorpus}) and malformed HTTP on a raw socket
 * ({@link RawHttpCorpus}). Each request gets its documented status (and JSON error code), never a 5xx,
 * within the hang guard; webhooks the corpus expects stored are then visible and delivered.
 */
class FuzzHttpTest {
  private static final Pattern STATUS_LINE = Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3})");

  private static FuzzEdge edge;
  // HTTP/1.1 only: the JDK's default h2c upgrade offer trips a pekko-http bug with request bodies.
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(HANG).build();

  @BeforeAll
  static void start() throws Exception {
    edge = new FuzzEdge();
  }

  @AfterAll
  static void stop() throws Exception {
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void malformedWebhooksAreRefusedWithTheirStatusAndGoodOnesStillFlow() throws Exception {
    Map<String, String> signed = new TreeMap<>();
    signed.put("stripe", createEndpoint("stripe", "whsec_stripe_secret"));
    signed.put("github", createEndpoint("github", "gh-secret"));
    signed.put("telegram", createEndpoint("telegram", "tg_secret-1"));
    signed.put("generic", createEndpoint("generic", "generic-secret"));
    signed.put("standard-webhooks", createEndpoint("standard-webhooks", "whsec_c2VjcmV0LWJ5dGVzLWZvci1mdXp6"));
    List<HttpCase> cases = IngestRequestCorpus.generate(FuzzSeed.random("ingest"), FuzzSeed.cases(),
        new IngestRequestCorpus.Targets(edge.plainEndpoint, signed), FuzzEdge.MAX_BODY_BYTES);
    List<String> stored = run(cases);
    assertFalse(stored.isEmpty(), "the corpus stores some webhooks with odd bodies");
    for (String id : stored) {
      edge.api.awaitStatus(id, "delivered", Duration.ofSeconds(30));
    }
    edge.assertStillServes("the ingest corpus (" + cases.size() + " cases)");
  }

  @Test
  void malformedOperatorRequestsGetTheirDocumentedErrors() throws Exception {
    String victim = createEndpoint("github", "victim-secret");
    List<HttpCase> cases = AdminRequestCorpus.generate(FuzzSeed.random("admin"), FuzzSeed.cases(), FuzzEdge.TOKEN,
        FuzzEdge.HUB, victim);
    run(cases);
    // The refused updates left the victim as it was.
    JsonNode after = edge.api.admin("GET", "/api/endpoints/" + victim, null).json();
    assertEquals("github", after.path("provider").asText());
    assertEquals(FuzzEdge.HUB, after.path("hub_id").asText());
    edge.assertStillServes("the admin corpus (" + cases.size() + " cases)");
  }

  @Test
  void malformedDashboardRequestsGetPreciseErrors() throws Exception {
    String webhook = edge.api.ingestOk(edge.plainEndpoint, "{\"dashboard\":true}");
    // The admin API lists a webhook once the status projection has it, a moment after the 200.
    edge.api.awaitStatus(webhook, "delivered", Duration.ofSeconds(30));
    List<HttpCase> cases = DashboardRequestCorpus.generate(FuzzSeed.random("dashboard"), FuzzSeed.cases(),
        FuzzEdge.TOKEN, webhook);
    run(cases);
    edge.assertStillServes("the dashboard corpus (" + cases.size() + " cases)");
  }

  @Test
  void malformedHttpOnTheWireIsRefusedOrClosedAndTheServerServesOn() throws Exception {
    List<RawHttpCorpus.RawCase> cases = RawHttpCorpus.generate(FuzzSeed.random("raw-http"), FuzzSeed.cases() / 4,
        edge.plainEndpoint);
    for (int i = 0; i < cases.size(); i++) {
      RawHttpCorpus.RawCase c = cases.get(i);
      String where = "case " + i + " of " + cases.size() + ": " + c + " (" + FuzzSeed.reproduce() + ")";
      for (int status : statusesOf(sendRaw(c.request(), where))) {
        assertTrue(c.statuses().contains(status), "status " + status + " for " + where);
      }
      assertEquals(200, edge.api.send("GET", "/healthz", null, Map.of()).status(), "healthz after " + where);
    }
    edge.assertStillServes("the raw HTTP corpus (" + cases.size() + " cases)");
    edge.assertFreshHubServes("the HTTP corpora");
  }

  /** Sends every case and checks its answer; returns the ids of the webhooks stored. */
  private static List<String> run(List<HttpCase> cases) throws Exception {
    List<String> stored = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      HttpCase c = cases.get(i);
      String where = "case " + i + " of " + cases.size() + ": " + c + " (" + FuzzSeed.reproduce() + ")";
      EdgeApi.Response response = send(c, where);
      assertTrue(c.statuses().contains(response.status()), "status " + response.status() + " body "
          + abbreviate(response.body()) + " for " + where);
      if (c.errorCode() != null && response.status() >= 400) {
        JsonNode body = Json.MAPPER.readTree(response.body());
        assertNotNull(body, "JSON error body for " + where);
        String code = body.path("error").asText();
        assertTrue(c.errorCode().equals("*") ? !code.isBlank() : c.errorCode().equals(code),
            "error " + abbreviate(response.body()) + " for " + where);
        assertFalse(body.path("message").asText().isBlank(), "error message for " + where);
      }
      if (c.stored()) {
        String id = Json.MAPPER.readTree(response.body()).path("id").asText();
        assertFalse(id.isEmpty(), "webhook id for " + where);
        stored.add(id);
      }
    }
    return stored;
  }

  private static EdgeApi.Response send(HttpCase c, String where) throws Exception {
    HttpRequest.BodyPublisher body = c.body() == null ? HttpRequest.BodyPublishers.noBody()
        : c.chunked() ? HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(c.body()))
        : HttpRequest.BodyPublishers.ofByteArray(c.body());
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(edge.server.httpBase() + c.path()))
        .timeout(HANG).method(c.method(), body);
    c.headers().forEach(request::header);
    try {
      HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new EdgeApi.Response(response.statusCode(), response.body());
    } catch (HttpTimeoutException e) {
      throw new AssertionError("hang: no response within " + HANG + " for " + where, e);
    }
  }

  /** Writes the bytes, half-closes, and reads until the server closes: the hang guard is the read timeout. */
  private static String sendRaw(byte[] request, String where) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", edge.server.port()), (int) HANG.toMillis());
      socket.setSoTimeout((int) HANG.toMillis());
      try {
        socket.getOutputStream().write(request);
        socket.shutdownOutput();
      } catch (IOException closedEarly) {
        // The server answered and closed before taking it all (e.g. a header over the limit): read its answer.
      }
      StringBuilder response = new StringBuilder();
      byte[] buffer = new byte[8192];
      try (InputStream in = socket.getInputStream()) {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          response.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
        }
      } catch (SocketTimeoutException e) {
        fail("hang: connection neither answered nor closed within " + HANG + " for " + where
            + "; got " + abbreviate(response.toString()));
      } catch (IOException reset) {
        // Closed with a reset after (or instead of) the answer: still an answer, not a hang.
      }
      return response.toString();
    }
  }

  private static List<Integer> statusesOf(String response) {
    List<Integer> statuses = new ArrayList<>();
    Matcher m = STATUS_LINE.matcher(response);
    while (m.find()) {
      statuses.add(Integer.parseInt(m.group(1)));
    }
    return statuses;
  }

  private static String createEndpoint(String provider, String secret) throws Exception {
    String body = Json.MAPPER.createObjectNode().put("name", "fuzz-" + provider).put("provider", provider)
        .put("secret", secret).put("destination_url", edge.destination.url("/signed")).put("hub_id", FuzzEdge.HUB)
        .toString();
    EdgeApi.Response response = edge.api.admin("POST", "/api/endpoints", body);
    assertEquals(201, response.status(), response.body());
    return response.json().path("id").asText();
  }

  private static String abbreviate(String s) {
    return s.length() > 300 ? s.substring(0, 300) + "…" : s;
  }
}
