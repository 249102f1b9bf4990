package dev.conduit.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Several relays in this JVM that form one cluster over loopback, on one shared PostgreSQL database
 * (a cluster cannot share embedded H2). Node 0 is the seed; start returns once every node is an Up
 * member that sees all the others (its /readyz answers 200 and /api/status lists n members up).
 */
public final class TestCluster implements AutoCloseable {
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(100);

  private final List<TestServer> nodes;

  private TestCluster(List<TestServer> nodes) {
    this.nodes = nodes;
  }

  /** n nodes over database (must be POSTGRES); overrides apply to every node. */
  public static TestCluster start(TestDatabase database, int n, Config overrides) throws Exception {
    if (database.kind() != TestDatabase.Kind.POSTGRES) {
      throw new IllegalArgumentException("a cluster needs a shared database: use TestDatabase.Kind.POSTGRES");
    }
    int seedPort = ChildServer.freePort();
    List<TestServer> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Config node = overrides.withFallback(ConfigFactory.parseMap(Map.of(
            "conduit.cluster.port", i == 0 ? seedPort : 0,
            "conduit.cluster.seed-nodes", "127.0.0.1:" + seedPort,
            // A node of a test cluster that stops is gone for good: down it soon.
            "conduit.cluster.sbr-stable-after", "3s")));
        nodes.add(TestServer.start(database, node));
      }
      TestCluster cluster = new TestCluster(nodes);
      cluster.awaitFormed(n);
      return cluster;
    } catch (Exception | Error e) {
      for (TestServer node : nodes) {
        node.close();
      }
      throw e;
    }
  }

  public static TestCluster start(TestDatabase database, int n) throws Exception {
    return start(database, n, ConfigFactory.empty());
  }

  public TestServer node(int i) {
    return nodes.get(i);
  }

  public int size() {
    return nodes.size();
  }

  /** Waits until every node still in this cluster is ready and lists members members, all up. */
  public void awaitFormed(int members) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
    for (TestServer node : nodes) {
      while (!formed(http, node, members)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("cluster of " + members + " did not form within " + FORM_TIMEOUT
              + "; node on port " + node.port() + " says " + status(http, node));
        }
        Thread.sleep(POLL.toMillis());
      }
    }
  }

  private static boolean formed(HttpClient http, TestServer node, int members) throws Exception {
    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(node.httpBase().resolve("/readyz")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (ready.statusCode() != 200) {
      return false;
    }
    var cluster = dev.conduit.server.Json.MAPPER.readTree(status(http, node)).path("cluster");
    int up = 0;
    for (var member : cluster.path("members")) {
      if ("up".equals(member.path("status").asText()) && member.path("reachable").asBoolean()) {
        up++;
      }
    }
    return up == members && cluster.path("members").size() == members;
  }

  private static String status(HttpClient http, TestServer node) throws Exception {
    return http.send(HttpRequest.newBuilder(node.httpBase().resolve("/api/status")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  /** Stops every node still running, last first (the seed leaves last). */
  @Override
  public void close() throws Exception {
    Exception first = null;
    for (int i = nodes.size() - 1; i >= 0; i--) {
      try {
        nodes.get(i).close();
      } catch (Exception e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** A URI on node i. */
  public URI httpBase(int i) {
    return nodes.get(i).httpBase();
  }
}
