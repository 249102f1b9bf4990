package dev.conduit.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.server.Json;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Dynamic deployments: with bootstrap on and config discovery, two relays that know only each other's
 * management address form one cluster (neither lists a seed node).
 */
class ClusterBootstrapTest {
  /** A hang guard: bootstrap probes contact points every second and waits for a stable set. */
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(90);

  @Test
  void twoRelaysFoundByConfigDiscoveryFormOneCluster() throws Exception {
    int management0 = ChildServer.freePort();
    int management1 = ChildServer.freePort();
    String contactPoints = "127.0.0.1:" + management0 + ",127.0.0.1:" + management1;
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES);
         TestServer first = TestServer.start(db, bootstrap(contactPoints, management0));
         TestServer second = TestServer.start(db, bootstrap(contactPoints, management1))) {
      HttpClient http = HttpClient.newHttpClient();
      long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
      for (TestServer node : new TestServer[] {first, second}) {
        JsonNode cluster;
        do {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("no cluster of two within " + FORM_TIMEOUT);
          }
          Thread.sleep(200);
          cluster = Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(node.httpBase().resolve("/api/status"))
              .build(), HttpResponse.BodyHandlers.ofString()).body()).path("cluster");
        } while (cluster.path("members").size() != 2 || !"up".equals(cluster.path("status").asText())
            || !"up".equals(cluster.path("members").path(1).path("status").asText()));
        assertEquals("bootstrap", cluster.path("join").asText());
      }
    }
  }

  private static Config bootstrap(String contactPoints, int managementPort) {
    return ConfigFactory.parseMap(Map.of(
        "conduit.cluster.bootstrap.enabled", true,
        "conduit.cluster.bootstrap.contact-points", contactPoints,
        "conduit.cluster.bootstrap.management-host", "127.0.0.1",
        "conduit.cluster.bootstrap.management-port", managementPort,
        "conduit.cluster.bootstrap.required-contact-points", 2));
  }
}
