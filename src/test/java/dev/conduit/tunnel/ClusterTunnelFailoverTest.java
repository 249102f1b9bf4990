package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.TestCluster;
import dev.conduit.testing.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Location entities hold nothing on disk: when the node that hosted some of them leaves, they start again
 * empty on the node that stays, and are rebuilt from the connections' re-asserts (hand-off stop message,
 * member removed). Several instances are registered so that, with shards spread over both nodes, some
 * locations are on the node that leaves, whatever the placement; every instance must stay reachable.
 */
class ClusterTunnelFailoverTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PING = Duration.ofSeconds(30);
  /** Enough ids that sharding (which spreads new shards over the regions) puts some on each node. */
  private static final int INSTANCES = 12;
  private static final Duration REACHABLE_WITHIN = Duration.ofSeconds(60);

  @Test
  void instancesStayReachableAfterTheNodeHostingTheirLocationsLeaves() throws Exception {
    byte[] data = "after the hand-off".getBytes(StandardCharsets.UTF_8);
    List<SimulatedInstance> instances = new ArrayList<>();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES);
         TestCluster cluster = TestCluster.start(db, 2)) {
      try {
        for (int i = 0; i < INSTANCES; i++) {
          instances.add(SimulatedInstance.start(cluster.node(0).wsBase(), UUID.randomUUID().toString(),
              KeyPair.generate(), PING, TIMEOUT));
        }
        // Every location is known before the node leaves (a client of node 1 reaches each instance).
        for (SimulatedInstance instance : instances) {
          try (SimulatedClient client = SimulatedClient.connectToInstance(cluster.node(1).wsBase(),
              instance.instanceId(), TIMEOUT)) {
            assertArrayEquals(data, client.echo(data));
          }
        }
        cluster.node(1).close(); // leaves the cluster: its shards are handed off to node 0

        for (SimulatedInstance instance : instances) {
          try (SimulatedClient client = connectWithin(cluster, instance.instanceId())) {
            assertArrayEquals(data, client.echo(data), instance.instanceId());
          }
        }
      } finally {
        for (SimulatedInstance instance : instances) {
          instance.close();
        }
      }
    }
  }

  /** Connects on node 0, retrying while the hand-off is under way (instance_offline until it is re-asserted). */
  private static SimulatedClient connectWithin(TestCluster cluster, String instanceId) throws Exception {
    long deadline = System.nanoTime() + REACHABLE_WITHIN.toNanos();
    while (true) {
      try {
        return SimulatedClient.connectToInstance(cluster.node(0).wsBase(), instanceId, TIMEOUT);
      } catch (Exception | AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("instance " + instanceId + " not reachable on node 0 within " + REACHABLE_WITHIN, e);
        }
        Thread.sleep(200); // the hand-off and re-asserts run on the nodes: nothing to wait on from here
      }
    }
  }
}
