package dev.conduit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A cluster of relays, each in its own JVM (dev.conduit.Main serve), on loopback ports over one shared
 * PostgreSQL database: the shape of a real deployment, where a node can be killed with SIGKILL or
 * stopped with SIGTERM. Nodes 0 and 1 are the seed nodes (the first forms the cluster when it is alone).
 */
public final class ClusterProcesses implements AutoCloseable {
  /** A hang guard, not a speed check: three JVMs starting at once on 2 cores under load. */
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(180);
  private static final Duration POLL = Duration.ofMillis(200);

  private final List<ChildServer> nodes;
  private final List<Boolean> running;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private ClusterProcesses(List<ChildServer> nodes) {
    this.nodes = nodes;
    this.running = new ArrayList<>(java.util.Collections.nCopies(nodes.size(), true));
  }

  /**
   * Starts n nodes at once and waits until every one is ready and sees n members up. env applies to
   * every node (hubs, admin token...); the database must be PostgreSQL.
   */
  public static ClusterProcesses start(TestDatabase db, int n, Map<String, String> env) throws Exception {
    if (db.kind() != TestDatabase.Kind.POSTGRES) {
      throw new IllegalArgumentException("a cluster needs a shared database: use TestDatabase.Kind.POSTGRES");
    }
    List<Integer> clusterPorts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      clusterPorts.add(ChildServer.freePort());
    }
    String seeds = "127.0.0.1:" + clusterPorts.get(0) + (n > 1 ? ",127.0.0.1:" + clusterPorts.get(1) : "");
    ExecutorService starter = Executors.newFixedThreadPool(n);
    List<Future<ChildServer>> starting = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Map<String, String> vars = new HashMap<>(env);
        vars.put("CONDUIT_CLUSTER_PORT", Integer.toString(clusterPorts.get(i)));
        vars.put("CONDUIT_CLUSTER_SEED_NODES", seeds);
        // A node of this cluster that stops is gone for good: down it soon (pekko's default is 20 s).
        vars.putIfAbsent("CONDUIT_CLUSTER_SBR_STABLE_AFTER", "3s");
        starting.add(starter.submit(() -> ChildServer.start(db, vars)));
      }
      List<ChildServer> nodes = new ArrayList<>();
      Exception failed = null;
      for (Future<ChildServer> node : starting) {
        try {
          nodes.add(node.get());
        } catch (java.util.concurrent.ExecutionException e) {
          failed = failed == null ? (Exception) e.getCause() : failed;
        }
      }
      ClusterProcesses cluster = new ClusterProcesses(nodes);
      if (failed != null) {
        cluster.close();
        throw failed;
      }
      try {
        cluster.awaitMembers(n);
      } catch (Exception | Error e) {
        cluster.close();
        throw e;
      }
      return cluster;
    } finally {
      starter.shutdown();
    }
  }

  public ChildServer node(int i) {
    return nodes.get(i);
  }

  public int size() {
    return nodes.size();
  }

  /** Indices of the nodes not killed or stopped. */
  public List<Integer> live() {
    List<Integer> live = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (running.get(i)) {
        live.add(i);
      }
    }
    return live;
  }

  /** kill -9 node i. */
  public void kill(int i) throws InterruptedException {
    running.set(i, false);
    nodes.get(i).kill();
  }

  /** SIGTERM node i (graceful leave); returns its exit status. */
  public int terminate(int i, Duration timeout) throws InterruptedException {
    running.set(i, false);
    return nodes.get(i).terminate(timeout);
  }

  /** Waits until every live node is ready and lists exactly members members, all up and reachable. */
  public void awaitMembers(int members) throws Exception {
    long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
    for (int i : live()) {
      String last = "";
      while (true) {
        try {
          last = get(i, "/api/status");
          if (formed(Json.MAPPER.readTree(last).path("cluster"), members) && get(i, "/readyz").contains("\"ready\"")) {
            break;
          }
        } catch (java.io.IOException e) {
          last = e.toString();
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("node " + i + " did not see " + members + " members up within "
              + FORM_TIMEOUT + "; it says " + last + "; log: " + nodes.get(i).log());
        }
        Thread.sleep(POLL.toMillis());
      }
    }
  }

  /**
   * Whether a node's /api/status "cluster" section lists exactly members members, all up and reachable
   * (also used by the cluster benchmarks, whose nodes are ChildJvm processes).
   */
  public static boolean formed(JsonNode cluster, int members) {
    int up = 0;
    for (JsonNode member : cluster.path("members")) {
      if ("up".equals(member.path("status").asText()) && member.path("reachable").asBoolean()) {
        up++;
      }
    }
    return up == members && cluster.path("members").size() == members;
  }

  private String get(int i, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(nodes.get(i).httpBase().resolve(path)).timeout(Duration.ofSeconds(5))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  /** kill -9 every node still running. */
  @Override
  public void close() throws Exception {
    for (int i : live()) {
      kill(i);
    }
  }
}
