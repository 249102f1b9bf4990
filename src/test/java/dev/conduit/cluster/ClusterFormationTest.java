package dev.conduit.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import dev.conduit.testing.TestCluster;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class ClusterFormationTest {
  private final HttpClient http = HttpClient.newHttpClient();

  private JsonNode get(java.net.URI uri) throws Exception {
    return Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  @Test
  void aSingleRelayIsAClusterOfOneThatJoinedItself() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2); TestServer server = TestServer.start(db)) {
      JsonNode cluster = get(server.httpBase().resolve("/api/status")).path("cluster");
      assertEquals("self", cluster.path("join").asText());
      assertEquals("up", cluster.path("status").asText());
      assertEquals(1, cluster.path("members").size());
      assertEquals("up", get(server.httpBase().resolve("/readyz")).path("cluster").asText());
    }
  }

  @Test
  void twoRelaysWithASeedFormOneCluster() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES); TestCluster cluster = TestCluster.start(db, 2)) {
      for (int i = 0; i < 2; i++) {
        JsonNode status = get(cluster.httpBase(i).resolve("/api/status")).path("cluster");
        assertEquals("seed_nodes", status.path("join").asText());
        assertEquals(2, status.path("members").size());
        assertEquals(status.path("leader").asText(), get(cluster.httpBase(1 - i).resolve("/api/status"))
            .path("cluster").path("leader").asText());
      }
    }
  }
}
