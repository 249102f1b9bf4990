package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The location entity on its own (key pins are the real sharded entities of a cluster of one; connections,
 * clients and the shard are probes): hand-off makes the holder re-assert, a rebuilt location takes the
 * holder's re-assert and refuses a replaced connection's, a stopped holder leaves its last status, and an
 * empty location asks its shard to passivate it once idle (never while it holds a connection).
 */
class InstanceLocationTest {
  private static final Duration IDLE = Duration.ofMinutes(2);

  private TunnelHarness harness;
  private TunnelContext tunnel;
  private TestProbe<ClusterSharding.ShardCommand> shard;
  /** Receives the locations' confirmations of re-asserts. */
  private TestProbe<InstanceLocation.Reasserted> reasserted;
  private String instanceId;
  private final String publicKey = Base64.getEncoder().encodeToString(new byte[32]);

  @BeforeEach
  void start() {
    harness = new TunnelHarness(TunnelHarness.settings(), 100);
    var system = harness.testKit.system();
    tunnel = new TunnelContext(harness.settings, new RateLimiter(100, 1.0, () -> 0L), new TunnelMetrics(),
        Clock.systemUTC(), harness.testKit.<TunnelRegistry.Command>createTestProbe().ref(), ClusterSharding.get(system),
        new ConcurrentHashMap<>(), harness.materializer);
    shard = harness.testKit.createTestProbe();
    reasserted = harness.testKit.createTestProbe();
    instanceId = UUID.randomUUID().toString();
  }

  @AfterEach
  void stop() {
    harness.close();
  }

  private ActorRef<InstanceLocation.Command> spawnLocation() {
    return harness.testKit.spawn(InstanceLocation.create(
        new EntityContext<>(InstanceLocation.ENTITY_KEY, instanceId, shard.ref()), tunnel, IDLE));
  }

  private InstanceConnection.RegisterOutcome register(ActorRef<InstanceLocation.Command> location,
                                                      TestProbe<InstanceConnection.Command> connection, boolean proven) {
    location.tell(new InstanceLocation.Register(publicKey, proven, connection.ref()));
    return connection.expectMessageClass(InstanceConnection.RegisterOutcome.class, TunnelHarness.RECEIVE);
  }

  @Test
  void handOffMakesTheHolderReassertAndTheRebuiltLocationRoutesToIt() {
    TestProbe<InstanceConnection.Command> a = harness.testKit.createTestProbe();
    ActorRef<InstanceLocation.Command> first = spawnLocation();
    InstanceConnection.RegisterOutcome outcome = register(first, a, true);
    assertEquals(true, outcome.accepted());

    first.tell(InstanceLocation.Stop.INSTANCE);
    a.expectMessage(TunnelHarness.RECEIVE, InstanceConnection.ReassertLocation.INSTANCE);
    a.expectTerminated(first, TunnelHarness.RECEIVE);

    ActorRef<InstanceLocation.Command> rebuilt = spawnLocation();
    rebuilt.tell(new InstanceLocation.Reassert(a.ref(), outcome.generation(), reasserted.ref()));
    // Confirmed, so the connection stops re-sending it (one sent to a removed node's region is lost).
    reasserted.expectMessage(TunnelHarness.RECEIVE, InstanceLocation.Reasserted.INSTANCE);
    TestProbe<ClientSession.Command> client = harness.testKit.createTestProbe();
    rebuilt.tell(new InstanceLocation.Connect(client.ref(), "client-key", null));
    InstanceConnection.OpenSession open = a.expectMessageClass(InstanceConnection.OpenSession.class, TunnelHarness.RECEIVE);
    assertEquals(client.ref(), open.client());
  }

  @Test
  void aReplacedConnectionsReassertIsRefusedAndTheNewHolderKeepsTheId() {
    TestProbe<InstanceConnection.Command> a = harness.testKit.createTestProbe();
    TestProbe<InstanceConnection.Command> b = harness.testKit.createTestProbe();
    ActorRef<InstanceLocation.Command> location = spawnLocation();
    long aGeneration = register(location, a, true).generation();
    InstanceConnection.RegisterOutcome bOutcome = register(location, b, true);
    assertEquals(true, bOutcome.accepted());
    assertEquals(true, bOutcome.generation() > aGeneration, "generations increase: " + bOutcome);
    a.expectMessage(TunnelHarness.RECEIVE, InstanceConnection.Replaced.INSTANCE);

    // A's re-assert was in flight before it learnt it was replaced (e.g. a member was removed meanwhile).
    location.tell(new InstanceLocation.Reassert(a.ref(), aGeneration, reasserted.ref()));
    a.expectMessage(TunnelHarness.RECEIVE, InstanceConnection.Replaced.INSTANCE);
    TestProbe<ClientSession.Command> client = harness.testKit.createTestProbe();
    location.tell(new InstanceLocation.Connect(client.ref(), "client-key", null));
    b.expectMessageClass(InstanceConnection.OpenSession.class, TunnelHarness.RECEIVE);
    a.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aReassertAgainstANewerHolderOfTheRebuiltLocationIsToldReplaced() {
    TestProbe<InstanceConnection.Command> a = harness.testKit.createTestProbe();
    TestProbe<InstanceConnection.Command> b = harness.testKit.createTestProbe();
    ActorRef<InstanceLocation.Command> location = spawnLocation();
    assertEquals(true, register(location, b, true).accepted());
    location.tell(new InstanceLocation.Reassert(a.ref(), 1, reasserted.ref()));
    a.expectMessage(TunnelHarness.RECEIVE, InstanceConnection.Replaced.INSTANCE);
    b.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aStoppedHolderLeavesItsLastStatusAndConnectsAreAnsweredOffline() {
    TestProbe<InstanceConnection.Command> a = harness.testKit.createTestProbe();
    ActorRef<InstanceLocation.Command> location = spawnLocation();
    assertEquals(true, register(location, a, false).accepted());
    InstanceConnection.InstanceStatus last = new InstanceConnection.InstanceStatus(instanceId, false, Instant.EPOCH,
        Instant.EPOCH, 0, List.of());
    location.tell(new InstanceLocation.Departed(a.ref(), last));
    a.stop();

    TestProbe<InstanceLocation.InstanceLookup> lookup = harness.testKit.createTestProbe();
    location.tell(new InstanceLocation.GetStatus(lookup.ref()));
    assertEquals(last, lookup.receiveMessage(TunnelHarness.RECEIVE).status());
    TestProbe<ClientSession.Command> client = harness.testKit.createTestProbe();
    location.tell(new InstanceLocation.Connect(client.ref(), "client-key", null));
    ClientSession.ConnectFailed failed = client.expectMessageClass(ClientSession.ConnectFailed.class,
        TunnelHarness.RECEIVE);
    assertEquals(Replies.error(Replies.INSTANCE_OFFLINE), failed.errorFrame(), "the id is pinned: offline, not unknown");
  }

  @Test
  void anUnknownIdIsNotFound() {
    ActorRef<InstanceLocation.Command> location = spawnLocation();
    TestProbe<InstanceLocation.InstanceLookup> lookup = harness.testKit.createTestProbe();
    location.tell(new InstanceLocation.GetStatus(lookup.ref()));
    assertNull(lookup.receiveMessage(TunnelHarness.RECEIVE).status());
    TestProbe<ClientSession.Command> client = harness.testKit.createTestProbe();
    location.tell(new InstanceLocation.Connect(client.ref(), "client-key", null));
    assertEquals(Replies.error(Replies.INSTANCE_NOT_FOUND),
        client.expectMessageClass(ClientSession.ConnectFailed.class, TunnelHarness.RECEIVE).errorFrame());
  }

  @Test
  void onlyAnEmptyLocationPassivatesWhenIdle() {
    TestProbe<InstanceConnection.Command> a = harness.testKit.createTestProbe();
    ActorRef<InstanceLocation.Command> location = spawnLocation();
    assertEquals(true, register(location, a, false).accepted());
    harness.time.timePasses(IDLE.multipliedBy(2));
    shard.expectNoMessage(Duration.ofMillis(200));

    a.stop(); // its node was removed, or it crashed: the location hears it stopped
    harness.time.timePasses(Duration.ofMillis(1)); // lets the termination through before the idle period starts
    shard.expectNoMessage(Duration.ofMillis(200));
    harness.time.timePasses(IDLE.plusSeconds(1));
    ClusterSharding.ShardCommand passivate = shard.receiveMessage(TunnelHarness.RECEIVE);
    assertEquals(new ClusterSharding.Passivate<>(location), passivate);
  }
}
