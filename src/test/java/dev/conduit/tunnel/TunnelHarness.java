package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.conduit.persistence.EntityLimits;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.server.Json;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * The tunnel's actors under the actor testkit: a real registry (with key pins and claim codes on the
 * in-memory persistence testkit journal) and sockets simulated at the actor boundary. Time is manual,
 * so the 60 s and 300 s timers are tested without waiting for them.
 */
final class TunnelHarness implements AutoCloseable {
  static final Duration RECEIVE = Duration.ofSeconds(5);

  final ActorTestKit testKit;
  final ManualTime time;
  final TunnelSettings settings;
  final ActorRef<TunnelRegistry.Command> registry;
  final Materializer materializer;

  TunnelHarness(TunnelSettings settings, int rateLimitBurst) {
    // A cluster of one (the tunnel's entities are sharded), on any free port, joined to itself below.
    Config config = ManualTime.config()
        .withFallback(ConfigFactory.parseString(String.join("\n",
            "pekko.actor.provider = cluster",
            "pekko.remote.artery.canonical.port = 0",
            "pekko.remote.artery.canonical.hostname = \"127.0.0.1\"",
            "pekko.actor.serialization-bindings { \"dev.conduit.cluster.ClusterSerializable\" = jackson-cbor }",
            // Manual time never fires the cluster's leave timers: the test kit stops the system directly.
            "pekko.coordinated-shutdown.run-by-actor-system-terminate = off")))
        .withFallback(PersistenceTestKitPlugin.getInstance().config())
        .withFallback(PersistenceTestKitSnapshotPlugin.getInstance().config())
        .withFallback(ConfigFactory.load());
    this.testKit = ActorTestKit.create(config);
    this.time = ManualTime.get(testKit.system());
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    this.settings = settings;
    this.materializer = Materializer.matFromSystem(testKit.system());
    RateLimiter limiter = new RateLimiter(rateLimitBurst, settings.rateLimitPerSecond(), () -> 0L);
    this.registry = testKit.spawn(TunnelRegistry.create(settings, limiter, new TunnelMetrics(), Clock.systemUTC(),
        new EntityLimits(Duration.ofMinutes(2), 10_000)), "tunnel");
    awaitShardingReady();
  }

  /**
   * Manual time drives the cluster's own timers too (gossip, the sharding coordinators' singletons): it is
   * moved on in small steps until this node is up and each entity type answers, before any test timer runs.
   */
  private void awaitShardingReady() {
    TestProbe<TunnelRegistry.Stats> started = testKit.createTestProbe();
    registry.tell(new TunnelRegistry.GetStats(started.ref())); // answered once the registry started its regions
    started.receiveMessage(RECEIVE);
    ClusterSharding sharding = ClusterSharding.get(testKit.system());
    Duration step = Duration.ofMillis(200);
    Duration patience = Duration.ofHours(1);
    CompletionStage<?> ready = sharding.entityRefFor(KeyPin.ENTITY_KEY, "warm-up")
        .<KeyPin.Result>ask(KeyPin.Lookup::new, patience)
        .thenCompose(pin -> sharding.entityRefFor(ClaimCode.ENTITY_KEY, "WARMUP23")
            .<ClaimCode.ConsumeResult>ask(replyTo -> new ClaimCode.Consume("warm-up", replyTo), patience))
        .thenCompose(claim -> sharding.entityRefFor(InstanceLocation.ENTITY_KEY, "warm-up")
            .<InstanceLocation.InstanceLookup>ask(InstanceLocation.GetStatus::new, patience));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!ready.toCompletableFuture().isDone()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cluster sharding not ready: member " + Cluster.get(testKit.system()).selfMember());
      }
      time.timePasses(step);
      try {
        Thread.sleep(10); // the cluster's actors run on other threads: give them a moment per step
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    ready.toCompletableFuture().join();
  }

  static TunnelSettings settings() {
    return new TunnelSettings(1 << 20, Duration.ofSeconds(60), Duration.ofSeconds(300), 4, 100, 1.0,
        List.of(), Duration.ofSeconds(300), Duration.ofHours(24), 64, 64 * 1024, 256 * 1024, Duration.ofSeconds(10),
        Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(5),
        FieldLimits.from(ConfigFactory.load().getConfig("conduit.tunnel")), 8);
  }

  /**
   * One simulated socket: frames in through the actor's SocketEvent protocol, frames out from its queue
   * as the bridge puts them on the wire (close marker taken off, see {@link #closedWith()}).
   */
  final class Socket {
    final ActorRef<SocketEvent> actor;
    final BlockingQueue<String> out = new LinkedBlockingQueue<>();
    final TestProbe<SocketEvent.Ack> acks = testKit.createTestProbe();
    final TestProbe<Object> watcher = testKit.createTestProbe();
    final WebSocketBridge.Ending ending = new WebSocketBridge.Ending(settings.closeTimeout(), "test socket");
    private final CompletionStage<Done> outboundDone;

    Socket(ActorRef<SocketEvent> actor, Source<Message, NotUsed> outbound) {
      this.actor = actor;
      this.outboundDone = WebSocketBridge.outbound(outbound, ending)
          .runWith(Sink.foreach(m -> out.add(m.asTextMessage().getStrictText())), materializer);
      actor.tell(new SocketEvent.Opened(acks.ref()));
      acks.expectMessage(SocketEvent.Ack.INSTANCE);
    }

    /** Waits until the outbound side ended; the close the relay chose for it (null: none). */
    SocketClose closedWith() throws Exception {
      outboundDone.toCompletableFuture().get(RECEIVE.toMillis(), TimeUnit.MILLISECONDS);
      return ending.close();
    }

    void send(String json) {
      actor.tell(new SocketEvent.Frames(List.of(new SocketEvent.Text(json, json.length())), acks.ref()));
    }

    /** Sends and waits until the actor acked it (it has been handled). */
    void sendAndAwaitAck(String json) {
      send(json);
      acks.expectMessage(RECEIVE, SocketEvent.Ack.INSTANCE);
    }

    JsonNode expectFrame() throws Exception {
      String text = out.poll(RECEIVE.toMillis(), TimeUnit.MILLISECONDS);
      assertNotNull(text, "expected a frame");
      return Json.MAPPER.readTree(text);
    }

    /** The next frame, which must have this type. */
    JsonNode expectFrame(String type) throws Exception {
      JsonNode frame = expectFrame();
      if (!type.equals(frame.path("type").asText())) {
        throw new AssertionError("expected " + type + " but got " + frame);
      }
      return frame;
    }

    void expectNoFrame() throws Exception {
      String text = out.poll(200, TimeUnit.MILLISECONDS);
      if (text != null) {
        throw new AssertionError("expected no frame but got " + text);
      }
    }

    /** Advances manual time by step and expects a frame to have been caused by it. */
    JsonNode expectFrameAfter(Duration step) throws Exception {
      time.timePasses(step);
      return expectFrame();
    }

    void expectStopped() {
      watcher.expectTerminated(actor, RECEIVE);
    }
  }

  Socket instanceSocket() {
    Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> outbound =
        TunnelRoutes.instanceOutbound(settings, materializer);
    TestProbe<ActorRef<InstanceConnection.Command>> reply = testKit.createTestProbe();
    registry.tell(new TunnelRegistry.AcceptInstance(outbound.first(), "10.0.0.1", reply.ref()));
    return new Socket(reply.receiveMessage().narrow(), outbound.second());
  }

  Socket clientSocket() {
    Pair<SourceQueueWithComplete<List<Message>>, Source<Message, NotUsed>> outbound =
        TunnelRoutes.clientOutbound(settings, materializer);
    TestProbe<ActorRef<ClientSession.Command>> reply = testKit.createTestProbe();
    registry.tell(new TunnelRegistry.AcceptClient(outbound.first(), "10.0.0.2", reply.ref()));
    return new Socket(reply.receiveMessage().narrow(), outbound.second());
  }

  static String register(String instanceId, String publicKey) {
    return "{\"type\":\"register\",\"instance_id\":\"" + instanceId + "\",\"public_key\":\"" + publicKey + "\"}";
  }

  static String key(int fill) {
    byte[] key = new byte[32];
    java.util.Arrays.fill(key, (byte) fill);
    return java.util.Base64.getEncoder().encodeToString(key);
  }

  @Override
  public void close() {
    testKit.shutdownTestKit();
  }
}
