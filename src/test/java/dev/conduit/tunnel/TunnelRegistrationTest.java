package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who holds an instance id, over real sockets: crossing re-registrations leave exactly one live connection;
 * the public key alone (which every client learns) cannot take an id from a live instance, nor, once the id
 * has proven possession, while its instance is offline; a possession proof replaces at once; an instance
 * from before relay protocol 1.1 still replaces a dead connection and registers again without proof.
 */
class TunnelRegistrationTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final Duration PING = Duration.ofSeconds(30);
  private static final int CROSSING_TRIES = 60;
  private static final long MAX_CROSSING_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(3);
  private static final String PROOF_REQUIRED = "{\"type\":\"error\",\"code\":\"proof_required\",\"message\":"
      + "\"Instance id has proven possession of its key before; offer relay_protocol 1.1 in protocol_versions and prove "
      + "it to register\"}";
  private static final byte[] DATA = "still the real instance".getBytes(StandardCharsets.UTF_8);

  private static TestDatabase db;
  private static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    // Hundreds of registrations from one address: the per-IP rate limit is not what this test is about.
    server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
        "conduit.tunnel.rate-limit.burst", 10000, "conduit.tunnel.rate-limit.per-second", 10000,
        // Every try looks the instance up on the public status endpoint, which is rate-limited per address.
        "conduit.tunnel.status-rate-limit.burst", 10000, "conduit.tunnel.status-rate-limit.per-second", 10000,
        // Nor the per-address connection cap: replaced sockets may take up to close-timeout to finish
        // closing, so how many are open at once depends on how fast the tries run (it reached 64).
        "conduit.connections.max-per-address", 10000)));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    db.close();
  }

  /**
   * The report: A is live; B registers the same id and key; 0-3 ms later A registers again. Whichever
   * order the registry decides them in, exactly one socket is live, the other is told why, and clients connect.
   */
  @Test
  void crossingReRegistrationsLeaveExactlyOneLiveConnection() throws Exception {
    Random random = new Random(7);
    int bWon = 0;
    for (int attempt = 0; attempt < CROSSING_TRIES; attempt++) {
      String id = UUID.randomUUID().toString();
      KeyPair key = KeyPair.generate();
      try (RelayConnection a = instanceSocket(); RelayConnection b = instanceSocket()) {
        registerProving(a, id, key);
        b.send(SimulatedInstance.register(id, key, true));
        b.send(SimulatedInstance.prove(b.expect("challenge", TIMEOUT), id, key));
        LockSupport.parkNanos((long) (random.nextDouble() * MAX_CROSSING_DELAY_NANOS));
        try {
          a.send(SimulatedInstance.register(id, key, true)); // proven on this socket already: no new challenge
        } catch (java.io.IOException alreadyReplaced) {
          // B won before A's register went out: A's socket is closed already (checked below).
        }

        String context = "try " + attempt;
        JsonNode bOutcome = next(b, context);
        RelayConnection winner;
        if ("registered".equals(bOutcome.path("type").asText())) {
          bWon++;
          winner = b;
          assertClosedAsReplaced(a, context);
        } else {
          assertEquals("already_connected", bOutcome.path("code").asText(), context + ": " + bOutcome);
          winner = a;
          assertEquals("registered", next(a, context).path("type").asText(), context);
        }

        assertOnline(id, context);
        try (RelayConnection client = clientSocket()) {
          client.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
          assertEquals("connected", next(client, context).path("type").asText(), context);
          assertEquals("connection", next(winner, context).path("type").asText(), context);
        }
      }
    }
    System.out.printf("crossing registrations: the newcomer won %d of %d tries%n", bWon, CROSSING_TRIES);
  }

  @Test
  void thePublicKeyAloneDoesNotTakeTheIdFromALiveInstance() throws Exception {
    String id = UUID.randomUUID().toString();
    try (SimulatedInstance real = SimulatedInstance.start(server.wsBase(), id, KeyPair.generate(), PING, TIMEOUT);
         SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
      // What every client learns: the instance's public key.
      byte[] publicKey = Base64.getDecoder().decode(client.connected().path("public_key").asText());
      String register = "{\"type\":\"register\",\"instance_id\":\"" + id + "\",\"public_key\":\""
          + Base64.getEncoder().encodeToString(publicKey) + "\"}";

      // As an instance from before 1.1: the id has proven possession before, so a register without proof is refused.
      try (RelayConnection attacker = instanceSocket()) {
        attacker.send(register);
        assertEquals(PROOF_REQUIRED, attacker.expect("error", TIMEOUT).toString());
      }

      // Offering 1.1: challenged, and a proof made with any other private key is refused.
      try (RelayConnection attacker = instanceSocket()) {
        JsonNode offer = SimulatedInstance.register(id, KeyPair.generate(), true)
            .put("public_key", Base64.getEncoder().encodeToString(publicKey));
        attacker.send(offer);
        JsonNode challenge = attacker.expect("challenge", TIMEOUT);
        attacker.send(SimulatedInstance.prove(challenge, id, KeyPair.generate()));
        assertEquals("{\"type\":\"error\",\"code\":\"proof_failed\","
                + "\"message\":\"Possession proof failed: mac does not prove the private key of public_key\"}",
            attacker.expect("error", TIMEOUT).toString());
      }

      // The real instance kept its client and gets new ones: only its private key completes their handshakes.
      assertArrayEquals(DATA, client.echo(DATA));
      try (SimulatedClient another = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
        assertArrayEquals(DATA, another.echo(DATA));
      }
      // It was told nothing but that the second client left (a session_closed may or may not be in yet).
      for (JsonNode event : real.events()) {
        assertEquals("session_closed", event.path("type").asText(), event.toString());
      }
      assertOnline(id, "after the attacks");
    }
  }

  /** An instance from before 1.1 that is live and answers pings keeps its id against the public key alone. */
  @Test
  void thePublicKeyAloneDoesNotTakeTheIdFromALiveOldStyleInstance() throws Exception {
    String id = UUID.randomUUID().toString();
    KeyPair key = KeyPair.generate();
    try (SimulatedInstance real = SimulatedInstance.startWithoutProof(server.wsBase(), id, key, PING, TIMEOUT);
         RelayConnection attacker = instanceSocket()) {
      attacker.send(SimulatedInstance.register(id, key, false));
      assertEquals("{\"type\":\"error\",\"code\":\"already_connected\",\"message\":\"Instance is connected on "
          + "another socket that still answers; prove possession of its key (relay_protocol 1.1) to replace it\"}",
          attacker.expect("error", TIMEOUT).toString());
      try (SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
        assertArrayEquals(DATA, client.echo(DATA));
      }
      assertEquals(1, real.echoedMessages());
    }
  }

  /**
   * The report: once an id has proven possession, its public key alone no longer registers it, even while
   * the real instance is offline (before, the impostor was accepted until the real one came back). The
   * real instance, proving, registers again.
   */
  @Test
  void thePublicKeyAloneDoesNotTakeAProvenIdWhileItsInstanceIsOffline() throws Exception {
    String id = UUID.randomUUID().toString();
    KeyPair key = KeyPair.generate();
    try (RelayConnection real = instanceSocket()) {
      registerProving(real, id, key);
    }
    awaitOffline(id);
    try (RelayConnection attacker = instanceSocket()) {
      attacker.send(SimulatedInstance.register(id, key, false));
      assertEquals(PROOF_REQUIRED, attacker.expect("error", TIMEOUT).toString());
    }
    EdgeApi.Response status = new EdgeApi(server.httpBase(), "").send("GET", "/relay/instances/" + id, null, Map.of());
    assertEquals(false, status.json().path("online").asBoolean(), "the impostor is not online: " + status.body());
    try (SimulatedInstance back = SimulatedInstance.start(server.wsBase(), id, key, PING, TIMEOUT);
         SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
      assertArrayEquals(DATA, client.echo(DATA));
      assertEquals(1, back.echoedMessages());
    }
  }

  /** An instance that never proved (before 1.1) still registers again with its key alone while offline. */
  @Test
  void anOldStyleInstanceRegistersAgainWithoutProof() throws Exception {
    String id = UUID.randomUUID().toString();
    KeyPair key = KeyPair.generate();
    try (RelayConnection first = instanceSocket()) {
      first.send(SimulatedInstance.register(id, key, false));
      assertEquals("1.0", first.expect("registered", TIMEOUT).path("relay_protocol").asText());
    }
    awaitOffline(id);
    try (SimulatedInstance again = SimulatedInstance.startWithoutProof(server.wsBase(), id, key, PING, TIMEOUT);
         SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
      assertArrayEquals(DATA, client.echo(DATA));
      assertEquals(1, again.echoedMessages());
    }
  }

  @Test
  void aProvingInstanceReplacesALiveOneAtOnce() throws Exception {
    String id = UUID.randomUUID().toString();
    KeyPair key = KeyPair.generate();
    try (SimulatedInstance old = SimulatedInstance.start(server.wsBase(), id, key, PING, TIMEOUT)) {
      // The old connection answers pings: had the newcomer gone through the probe it would have been refused.
      try (SimulatedInstance fresh = SimulatedInstance.start(server.wsBase(), id, key, PING, TIMEOUT)) {
        old.connection().closed().toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        for (JsonNode told : old.events()) { // "replaced", unless the close cut it off (best effort)
          assertEquals("replaced", told.path("code").asText(), told.toString());
        }
        try (SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
          assertArrayEquals(DATA, client.echo(DATA));
        }
        assertEquals(1, fresh.echoedMessages());
        assertEquals(0, old.echoedMessages());
      }
    }
  }

  /** An instance from before 1.1 reconnecting while its old socket is dead (open, but answering nothing). */
  @Test
  void anOldStyleReRegisterReplacesADeadConnection() throws Exception {
    String id = UUID.randomUUID().toString();
    KeyPair key = KeyPair.generate();
    try (RelayConnection dead = instanceSocket()) {
      dead.send(SimulatedInstance.register(id, key, false));
      assertEquals("1.0", dead.expect("registered", TIMEOUT).path("relay_protocol").asText());
      try (SimulatedInstance reconnected = SimulatedInstance.startWithoutProof(server.wsBase(), id, key, PING, TIMEOUT)) {
        assertEquals("ping", dead.expect("ping", TIMEOUT).path("type").asText()); // the probe it never answers
        assertClosedAsReplaced(dead, "dead connection");
        try (SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), id, TIMEOUT)) {
          assertArrayEquals(DATA, client.echo(DATA));
        }
        assertEquals(1, reconnected.echoedMessages());
      }
    }
  }

  private static void registerProving(RelayConnection socket, String id, KeyPair key) throws Exception {
    socket.send(SimulatedInstance.register(id, key, true));
    socket.send(SimulatedInstance.prove(socket.expect("challenge", TIMEOUT), id, key));
    assertEquals("1.1", socket.expect("registered", TIMEOUT).path("relay_protocol").asText());
  }

  /**
   * The socket is closed; what it got before is at most a refresh ("registered") and then "replaced". The
   * "replaced" frame itself is best effort (pekko-http may cut the socket before a last frame is out;
   * README "Restarts").
   */
  private static void assertClosedAsReplaced(RelayConnection socket, String context) throws Exception {
    socket.closed().toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    for (JsonNode frame = socket.receive(Duration.ZERO); frame != null; frame = socket.receive(Duration.ZERO)) {
      boolean refreshed = "registered".equals(frame.path("type").asText());
      boolean replaced = "error".equals(frame.path("type").asText()) && "replaced".equals(frame.path("code").asText());
      assertTrue(refreshed || replaced, context + ": " + frame);
    }
  }

  private static JsonNode next(RelayConnection socket, String context) throws Exception {
    JsonNode frame = socket.receive(TIMEOUT);
    assertTrue(frame != null, context + ": no frame within " + TIMEOUT);
    return frame;
  }

  /** Waits until the public status says the id is offline (its socket's close reaches the registry asynchronously). */
  private static void awaitOffline(String id) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    EdgeApi api = new EdgeApi(server.httpBase(), "");
    EdgeApi.Response status = api.send("GET", "/relay/instances/" + id, null, Map.of());
    while (status.json().path("online").asBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(20); // another actor's bookkeeping: nothing to wait on from here
      status = api.send("GET", "/relay/instances/" + id, null, Map.of());
    }
    assertEquals(false, status.json().path("online").asBoolean(), "still online: " + status.body());
  }

  private static void assertOnline(String id, String context) throws Exception {
    EdgeApi.Response status = new EdgeApi(server.httpBase(), "").send("GET", "/relay/instances/" + id, null, Map.of());
    assertEquals(200, status.status(), context);
    assertEquals(true, status.json().path("online").asBoolean(), context + ": " + status.body());
  }

  private static RelayConnection instanceSocket() throws Exception {
    return RelayConnection.open(server.wsBase().resolve(SimulatedInstance.TUNNEL_PATH), TIMEOUT);
  }

  private static RelayConnection clientSocket() throws Exception {
    return RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT);
  }
}
