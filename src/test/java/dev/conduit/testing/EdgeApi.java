package dev.conduit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** The edge's HTTP API as tests use it: admin calls with the token, ingest, and polling. */
public final class EdgeApi {
  public static final ObjectMapper MAPPER = new ObjectMapper();

  public record Response(int status, String body) {
    public JsonNode json() {
      try {
        return MAPPER.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }
  }

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final URI base;
  private final String token;

  public EdgeApi(URI base, String token) {
    this.base = base;
    this.token = token;
  }

  public Response send(String method, String path, String body, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    headers.forEach(request::header);
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return new Response(response.statusCode(), response.body());
  }

  public Response admin(String method, String path, String body) throws Exception {
    return send(method, path, body, body == null ? Map.of("Authorization", "Bearer " + token)
        : Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json"));
  }

  /** Creates an endpoint (no secret, generic provider); returns its id. */
  public String createEndpoint(String name, String destinationUrl, String hubId) throws Exception {
    String body = MAPPER.createObjectNode().put("name", name).put("provider", "generic")
        .put("destination_url", destinationUrl).put("hub_id", hubId).toString();
    Response response = admin("POST", "/api/endpoints", body);
    if (response.status() != 201) {
      throw new AssertionError("create endpoint: " + response);
    }
    return response.json().path("id").asText();
  }

  public Response ingest(String endpointId, String body) throws Exception {
    return send("POST", "/h/" + endpointId, body, Map.of("Content-Type", "application/json"));
  }

  /** Ingests and expects 200; returns the webhook id. */
  public String ingestOk(String endpointId, String body) throws Exception {
    Response response = ingest(endpointId, body);
    if (response.status() != 200) {
      throw new AssertionError("ingest: " + response);
    }
    return response.json().path("id").asText();
  }

  public JsonNode webhook(String id) throws Exception {
    Response response = admin("GET", "/api/webhooks/" + id, null);
    return response.status() == 200 ? response.json() : null;
  }

  /** Polls until the webhook's status is the expected one; returns its last JSON. */
  public JsonNode awaitStatus(String id, String status, Duration timeout) throws Exception {
    JsonNode[] last = new JsonNode[1];
    await(() -> {
      try {
        last[0] = webhook(id);
        return last[0] != null && status.equals(last[0].path("status").asText());
      } catch (Exception e) {
        return false;
      }
    }, timeout, () -> "webhook " + id + " to be " + status + ", last: " + last[0]);
    return last[0];
  }

  /** Polls condition every 50 ms until true or timeout. */
  public static void await(Supplier<Boolean> condition, Duration timeout, Supplier<String> what)
      throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (!condition.get()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out waiting for " + what.get());
      }
      Thread.sleep(50);
    }
  }

  public static <T> T awaitValue(Supplier<T> value, Predicate<T> ok, Duration timeout, String what)
      throws InterruptedException {
    @SuppressWarnings("unchecked")
    T[] last = (T[]) new Object[1];
    await(() -> ok.test(last[0] = value.get()), timeout, () -> what + ", last: " + last[0]);
    return last[0];
  }
}
