package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.server.Json;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestCluster;
import dev.conduit.testing.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two relays in one cluster act as one: an instance connected to node 0 is reached by clients of node 1
 * (frames cross the nodes through stream refs, serialized), a re-registration on node 1 replaces the
 * connection on node 0, and a client across nodes that stops reading is closed slow_consumer as on one
 * node. Where each instance's location entity runs is left to sharding: every case holds wherever it is.
 */
class ClusterTunnelTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PING = Duration.ofSeconds(30);
  private static final int ONE_MIB = 1 << 20;
  /** Frames for the slow client: many times what its socket queue, stream refs and TCP buffers hold. */
  private static final int SLOW_FRAME_BYTES = 48 * 1024;
  private static final int MAX_SLOW_FRAMES = 4000;

  private static TestDatabase db;
  private static TestCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.POSTGRES);
    // A short grace keeps the slow-consumer case quick; close-timeout only bounds how long the closed client may take.
    cluster = TestCluster.start(db, 2, ConfigFactory.parseMap(Map.of(
        "conduit.tunnel.slow-consumer-grace", "500ms",
        "conduit.tunnel.close-timeout", "60s")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void clientOnOtherNodeReachesInstanceByIdAndByClaimCode() throws Exception {
    byte[] marker = "plaintext-marker-across-nodes".getBytes(StandardCharsets.UTF_8);
    byte[] large = new byte[ONE_MIB];
    new Random(42).nextBytes(large);
    try (SimulatedInstance instance = SimulatedInstance.start(cluster.node(0).wsBase(), UUID.randomUUID().toString(),
        KeyPair.generate(), PING, TIMEOUT)) {
      try (SimulatedClient client = SimulatedClient.connectToInstance(cluster.node(1).wsBase(), instance.instanceId(),
          TIMEOUT)) {
        assertEquals(instance.publicKeyBase64(), client.connected().path("public_key").asText());
        assertArrayEquals(marker, client.echo(marker));
        assertArrayEquals(large, client.echo(large), "1 MiB over Noise frames crosses the nodes intact both ways");
      }
      String code = instance.createClaim("user-1", TIMEOUT).path("code").asText();
      try (SimulatedClient client = SimulatedClient.connectWithClaim(cluster.node(1).wsBase(), code, TIMEOUT)) {
        assertEquals("user-1", client.connected().path("user_id").asText());
        assertArrayEquals(marker, client.echo(marker));
      }
      // A client on the instance's own node pairs queue to queue, as on a single relay.
      try (SimulatedClient client = SimulatedClient.connectToInstance(cluster.node(0).wsBase(), instance.instanceId(),
          TIMEOUT)) {
        assertArrayEquals(marker, client.echo(marker));
      }
      // Either node's status endpoint finds the instance through its location entity.
      for (int node = 0; node < 2; node++) {
        EdgeApi.Response status = new EdgeApi(cluster.httpBase(node), "").send("GET",
            "/relay/instances/" + instance.instanceId(), null, Map.of());
        assertEquals(true, status.json().path("online").asBoolean(), "node " + node + ": " + status.body());
      }
    }
  }

  @Test
  void reRegistrationOnOtherNodeReplacesTheConnection() throws Exception {
    String id = UUID.randomUUID().toString();
    KeyPair key = KeyPair.generate();
    byte[] data = "to the new connection".getBytes(StandardCharsets.UTF_8);
    try (SimulatedInstance old = SimulatedInstance.start(cluster.node(0).wsBase(), id, key, PING, TIMEOUT);
         SimulatedInstance current = SimulatedInstance.start(cluster.node(1).wsBase(), id, key, PING, TIMEOUT)) {
      RelayConnection.CloseFrame closed = old.connection().closeFrame().toCompletableFuture()
          .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      assertEquals("replaced", closed.reason(), "the old connection on node 0 is closed as replaced: " + closed);
      for (int node = 0; node < 2; node++) {
        try (SimulatedClient client = SimulatedClient.connectToInstance(cluster.node(node).wsBase(), id, TIMEOUT)) {
          assertArrayEquals(data, client.echo(data), "client on node " + node);
        }
      }
      assertEquals(2, current.echoedMessages(), "both clients reached the new connection");
      assertEquals(0, old.echoedMessages());
    }
  }

  @Test
  void clientAcrossNodesThatStopsReadingIsClosedSlowConsumer() throws Exception {
    String id = UUID.randomUUID().toString();
    try (RelayConnection instance = RelayConnection.open(cluster.node(0).wsBase().resolve(SimulatedInstance.TUNNEL_PATH),
             TIMEOUT);
         RelayConnection slow = RelayConnection.open(cluster.node(1).wsBase().resolve(SimulatedClient.CLIENT_PATH),
             TIMEOUT)) {
      instance.send("{\"type\":\"register\",\"instance_id\":\"" + id + "\",\"public_key\":\""
          + Base64.getEncoder().encodeToString(KeyPair.generate().publicKey()) + "\"}");
      instance.expect("registered", TIMEOUT);
      slow.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
      String session = slow.expect("connected", TIMEOUT).path("session_id").asText();
      instance.expect("connection", TIMEOUT);

      slow.pauseReading();
      String frame = "{\"type\":\"relay_message\",\"session_id\":\"" + session + "\",\"payload\":\""
          + Base64.getEncoder().encodeToString(new byte[SLOW_FRAME_BYTES]) + "\"}";
      JsonNode closed = null;
      int sent = 0;
      while (closed == null && sent < MAX_SLOW_FRAMES) {
        instance.send(frame);
        sent++;
        String next = instance.receiveText(Duration.ZERO);
        if (next != null) {
          closed = Json.MAPPER.readTree(next);
        }
      }
      if (closed == null) {
        closed = instance.receive(TIMEOUT);
      }
      assertTrue(closed != null, "the instance is told the slow session ended (sent " + sent + " frames)");
      assertEquals("session_closed", closed.path("type").asText(), closed.toString());
      assertEquals(session, closed.path("session_id").asText());
      assertEquals("slow_consumer", closed.path("reason").asText());
      slow.resumeReading();
      JsonNode last = slow.receive(TIMEOUT);
      while (last != null && "message".equals(last.path("type").asText())) {
        last = slow.receive(TIMEOUT);
      }
      assertTrue(last != null, "a last frame");
      assertEquals("slow_consumer", last.path("code").asText(), last.toString());
      assertEquals(new RelayConnection.CloseFrame(1008, "slow_consumer"),
          slow.closeFrame().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS));
      assertFalse(instance.isClosed(), "the instance keeps its connection");
    }
  }
}
