package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What both webhook benchmarks share: a Conduit edge on a fresh PostgreSQL database, endpoints, bodies. */
final class WebhookBenchSupport {
  static final String ADMIN_TOKEN = "bench-admin-token";
  static final String HUB_SECRET = "bench-hub-secret";

  private WebhookBenchSupport() {}

  /**
   * Conduit's fat jar on database db, gRPC on a port of its own (the public port then speaks HTTP/1.1
   * only, as README recommends for an edge), hubs "bench" and "idle" configured.
   */
  static ChildJvm edge(PostgresBenchDatabase db, int grpcPort, Path runDir) throws Exception {
    return edge(db, grpcPort, runDir, BenchConfig.JAR);
  }

  /** The same from another build of Conduit (e.g. -Dbench.compare-jar). */
  static ChildJvm edge(PostgresBenchDatabase db, int grpcPort, Path runDir, Path jar) throws Exception {
    return ChildJvm.conduit(jar, edgeEnv(db, grpcPort, runDir), runDir);
  }

  /**
   * The CONDUIT_* variables of an edge on db with gRPC on grpcPort and its data under runDir: hubs "bench"
   * and "idle", the admin token, the per-address cap out of the way, then bench.conduit-env on top.
   */
  static Map<String, String> edgeEnv(PostgresBenchDatabase db, int grpcPort, Path runDir) {
    Map<String, String> env = new HashMap<>(db.conduitEnv());
    env.put("CONDUIT_ADMIN_TOKEN", ADMIN_TOKEN);
    env.put("CONDUIT_HUBS", "bench:" + HUB_SECRET + ",idle:" + HUB_SECRET);
    env.put("CONDUIT_GRPC_PORT", Integer.toString(grpcPort));
    env.put("CONDUIT_DATA_DIR", runDir.resolve("data").toString());
    // Every sender and hub connects from loopback: the per-address connection cap out of the way.
    env.put("CONDUIT_MAX_CONNECTIONS_PER_ADDRESS", "1000000");
    // Further CONDUIT_* settings under test, e.g. -Dbench.conduit-env=CONDUIT_DB_MAX_CONNECTIONS=20,...
    for (String pair : System.getProperty("bench.conduit-env", "").split(",")) {
      if (pair.contains("=")) {
        env.put(pair.substring(0, pair.indexOf('=')).trim(), pair.substring(pair.indexOf('=') + 1).trim());
      }
    }
    return env;
  }

  /** Creates count endpoints through the admin API; returns their ingest URLs. */
  static List<URI> createEndpoints(HttpClient http, int port, int count, String hubId, String destinationPrefix)
      throws Exception {
    return createEndpoints(http, port, 0, count, hubId, destinationPrefix);
  }

  /**
   * Creates endpoints first .. first + count - 1 (named hubId-i, destination destinationPrefix + i) through the
   * admin API on port; returns their ingest URLs on that port.
   */
  static List<URI> createEndpoints(HttpClient http, int port, int first, int count, String hubId,
                                   String destinationPrefix) throws Exception {
    List<URI> ingest = new ArrayList<>();
    for (int i = first; i < first + count; i++) {
      String body = Json.MAPPER.createObjectNode().put("name", hubId + "-" + i).put("provider", "generic")
          .put("destination_url", destinationPrefix + i).put("hub_id", hubId).toString();
      HttpResponse<String> response = http.send(admin(port, "/api/endpoints")
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 201) {
        throw new IllegalStateException("endpoint not created: " + response.statusCode() + " " + response.body());
      }
      ingest.add(URI.create("http://127.0.0.1:" + port + "/h/" + Json.MAPPER.readTree(response.body()).get("id").asText()));
    }
    return ingest;
  }

  static HttpRequest.Builder admin(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(30));
  }

  /**
   * The edge's own mean of a Prometheus histogram (its _sum over its _count, in ms) over the whole run,
   * warm-up included; NaN when absent. Where the time goes inside the edge, beside the figures seen outside.
   */
  static double histogramMeanMillis(HttpClient http, int port, String name) throws Exception {
    String text = http.send(admin(port, "/metrics").GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    double sum = Double.NaN;
    double count = Double.NaN;
    for (String line : text.split("\n")) {
      if (line.startsWith(name + "_sum")) {
        sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      } else if (line.startsWith(name + "_count")) {
        count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum / count * 1000;
  }

  static JsonNode getJson(HttpClient http, int port, String path) throws Exception {
    HttpResponse<String> response = http.send(admin(port, path).GET().build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("GET " + path + ": " + response.statusCode() + " " + response.body());
    }
    return Json.MAPPER.readTree(response.body());
  }

  /** A JSON body of exactly size bytes. */
  static byte[] body(int size) {
    String prefix = "{\"event\":\"bench\",\"pad\":\"";
    String suffix = "\"}";
    return (prefix + "x".repeat(size - prefix.length() - suffix.length()) + suffix).getBytes();
  }

  static double cores(Duration cpu, double seconds) {
    return cpu.toNanos() / 1e9 / seconds;
  }
}
