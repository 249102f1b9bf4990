package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.ClusterProcesses;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * Conduit nodes under measurement forming one cluster: each a {@link ChildJvm} of the fat jar (its own CPU,
 * heap and RSS), on loopback, with a cluster port of its own; nodes 0 and 1 are the seeds, as in
 * {@link ClusterProcesses} (which runs the same shape from the classpath for the tests). Node i's logs and
 * data are under runDir/node-i.
 */
final class BenchCluster implements AutoCloseable {
  /** A hang guard, not a speed check: three JVMs starting at once on 2 cores. */
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(180);
  private static final Duration POLL = Duration.ofMillis(200);
  private final List<ChildJvm> nodes;

  private BenchCluster(List<ChildJvm> nodes) {
    this.nodes = nodes;
  }

  /**
   * Starts n nodes at once, node i with envOf.apply(i) plus its cluster port and the seeds, and waits until
   * every node lists n members up. The nodes must share a database (PostgreSQL: see
   * {@link PostgresBenchDatabase#conduitEnv()}). adminToken authorises /api/status when set (may be null).
   */
  static BenchCluster start(int n, IntFunction<Map<String, String>> envOf, Path runDir, String adminToken)
      throws Exception {
    List<Integer> clusterPorts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      clusterPorts.add(ChildServer.freePort());
    }
    String seeds = "127.0.0.1:" + clusterPorts.get(0) + (n > 1 ? ",127.0.0.1:" + clusterPorts.get(1) : "");
    ExecutorService starter = Executors.newFixedThreadPool(n);
    List<Future<ChildJvm>> starting = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Map<String, String> env = new HashMap<>(envOf.apply(i));
        env.put("CONDUIT_CLUSTER_PORT", Integer.toString(clusterPorts.get(i)));
        env.put("CONDUIT_CLUSTER_SEED_NODES", seeds);
        Path nodeDir = nodeDir(runDir, i);
        starting.add(starter.submit(() -> ChildJvm.conduit(BenchConfig.JAR, env, nodeDir)));
      }
      List<ChildJvm> nodes = new ArrayList<>();
      Exception failed = null;
      for (Future<ChildJvm> node : starting) {
        try {
          nodes.add(node.get());
        } catch (java.util.concurrent.ExecutionException e) {
          failed = failed == null ? (Exception) e.getCause() : failed;
        }
      }
      BenchCluster cluster = new BenchCluster(nodes);
      try {
        if (failed != null) {
          throw failed;
        }
        cluster.awaitFormed(adminToken, runDir);
      } catch (Exception | Error e) {
        cluster.close();
        throw e;
      }
      return cluster;
    } finally {
      starter.shutdown();
    }
  }

  /** Where node i keeps its log (conduit.log) and data. */
  static Path nodeDir(Path runDir, int i) {
    return runDir.resolve("node-" + i);
  }

  ChildJvm node(int i) {
    return nodes.get(i);
  }

  int size() {
    return nodes.size();
  }

  List<ChildJvm> nodes() {
    return nodes;
  }

  /** CPU time of every node so far, in node order. */
  List<Duration> cpuTimes() {
    return nodes.stream().map(ChildJvm::cpuTime).toList();
  }

  /** Cores each node used since before (from {@link #cpuTimes()}) over seconds, in node order. */
  double[] coresSince(List<Duration> before, double seconds) {
    double[] cores = new double[nodes.size()];
    for (int i = 0; i < nodes.size(); i++) {
      cores[i] = nodes.get(i).cpuTime().minus(before.get(i)).toNanos() / 1e9 / seconds;
    }
    return cores;
  }

  private void awaitFormed(String adminToken, Path runDir) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
    for (int i = 0; i < nodes.size(); i++) {
      String last = "";
      while (true) {
        try {
          HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodes.get(i).port()
              + "/api/status")).timeout(Duration.ofSeconds(5));
          if (adminToken != null) {
            request.header("Authorization", "Bearer " + adminToken);
          }
          last = http.send(request.build(), HttpResponse.BodyHandlers.ofString()).body();
          JsonNode cluster = Json.MAPPER.readTree(last).path("cluster");
          if (ClusterProcesses.formed(cluster, nodes.size())) {
            break;
          }
        } catch (java.io.IOException e) {
          last = e.toString();
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("node " + i + " did not see " + nodes.size() + " members up within "
              + FORM_TIMEOUT + "; it says " + last + "; log: " + nodeDir(runDir, i).resolve("conduit.log"));
        }
        Thread.sleep(POLL.toMillis());
      }
    }
  }

  @Override
  public void close() throws Exception {
    // All at once: a node stopped alone would wait for the others to see it leave.
    List<Thread> stopping = new ArrayList<>();
    for (ChildJvm node : nodes) {
      Thread thread = new Thread(() -> {
        try {
          node.close();
        } catch (Exception ignored) {
          // ChildJvm.close forces the kill after its own timeout
        }
      });
      thread.start();
      stopping.add(thread);
    }
    for (Thread thread : stopping) {
      thread.join();
    }
  }
}
