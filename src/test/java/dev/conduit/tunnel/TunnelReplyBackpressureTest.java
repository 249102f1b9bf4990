package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.server.Json;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.RawWebSocket;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.io.IOException;
import java.time.Duration;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Regression: a burst of frames that each earn a reply (20,000 pings in one write) got 79 pongs, then
 * the instance was dropped as "not reading" although it read all the time. Replies are now paced by the
 * peer's reading like everything else; only a peer that does not read at all is dropped, after
 * slow-consumer-grace, and told why.
 */
class TunnelReplyBackpressureTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int BURST = 20_000;
  private static final String PING = "{\"type\":\"ping\"}";

  private static TestDatabase db;
  private static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(db);
  }

  @AfterAll
  static void stop() throws Exception {
    TestServer.close(server, db);
  }

  @Test
  void twentyThousandPingsInOneWriteFromAnInstanceGetTwentyThousandPongs() throws Exception {
    try (RawWebSocket instance = registeredInstance(server, UUID.randomUUID().toString(), 0)) {
      assertEveryReply(instance, Collections.nCopies(BURST, PING), "pong", null);
    }
  }

  @Test
  void aBurstOfRelayMessagesThatEachEarnAnErrorGetsEveryError() throws Exception {
    try (RawWebSocket instance = registeredInstance(server, UUID.randomUUID().toString(), 0)) {
      String orphan = "{\"type\":\"relay_message\",\"session_id\":\"no-such-session\",\"payload\":\"aGk=\"}";
      assertEveryReply(instance, Collections.nCopies(BURST, orphan), "error", "unknown_session");
    }
  }

  @Test
  void twentyThousandPingsInOneWriteFromAClientGetTwentyThousandPongs() throws Exception {
    try (RawWebSocket client = RawWebSocket.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), 0, TIMEOUT)) {
      assertEveryReply(client, Collections.nCopies(BURST, PING), "pong", null);
    }
  }

  @Test
  void anInstanceThatDoesNotReadAtAllIsDroppedAfterTheGraceAndToldWhy() throws Exception {
    // A small grace so the test is quick; close-timeout only guards the test's reading afterwards.
    String id = UUID.randomUUID().toString();
    try (TestDatabase ownDb = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer relay = TestServer.start(ownDb, ConfigFactory.parseMap(Map.of(
             "conduit.tunnel.slow-consumer-grace", "500ms",
             "conduit.tunnel.close-timeout", "60s",
             "conduit.tunnel.instance-outbound-buffer", 4)));
         RawWebSocket instance = registeredInstance(relay, id, 4096);
         RelayConnection client = RelayConnection.open(relay.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT)) {
      client.send("{\"type\":\"connect\",\"instance_id\":\"" + id + "\"}");
      client.expect("connected", TIMEOUT);
      assertEquals("connection", type(instance.readText()));

      // The instance keeps pinging but never reads its pongs.
      AtomicBoolean stop = new AtomicBoolean();
      List<String> chunk = Collections.nCopies(2_000, PING);
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          while (!stop.get()) {
            instance.sendAll(chunk);
          }
        } catch (IOException connectionGone) {
          // the relay dropped the connection: expected once it gave up on this instance
        }
      });
      // The relay gives up on it: its client learns that first.
      JsonNode offline = client.expect("error", TIMEOUT);
      assertEquals("instance_offline", offline.path("code").asText());
      assertEquals(new RelayConnection.CloseFrame(1000, "instance_offline"),
          client.closeFrame().toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
      stop.set(true);

      // Reading again, the instance gets what was on its way, then the reason and a close frame with it.
      RawWebSocket.Frame frame = instance.read();
      int pongs = 0;
      while (!frame.isClose() && "pong".equals(type(frame.text()))) {
        pongs++;
        frame = instance.read();
      }
      assertTrue(!frame.isClose(), "an error frame before the close (after " + pongs + " pongs)");
      JsonNode error = Json.MAPPER.readTree(frame.text());
      assertEquals("error", error.path("type").asText());
      assertEquals("not_reading", error.path("code").asText());
      RawWebSocket.Frame close = instance.read();
      assertTrue(close.isClose(), "then the close frame");
      assertEquals(1008, close.closeStatus());
      assertEquals("not_reading", close.closeReason());
      instance.close();
      writer.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Sends every frame in one write and reads one reply per frame, each of type (and code) in order. */
  private static void assertEveryReply(RawWebSocket socket, List<String> frames, String type, String code)
      throws Exception {
    CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
      try {
        socket.sendAll(frames);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    for (int i = 0; i < frames.size(); i++) {
      JsonNode reply = Json.MAPPER.readTree(socket.readText());
      if (!type.equals(reply.path("type").asText()) || code != null && !code.equals(reply.path("code").asText())) {
        throw new AssertionError("reply " + i + " of " + frames.size() + ": " + reply);
      }
    }
    written.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static RawWebSocket registeredInstance(TestServer relay, String id, int receiveBufferBytes) throws Exception {
    RawWebSocket instance = RawWebSocket.open(relay.wsBase().resolve(SimulatedInstance.TUNNEL_PATH),
        receiveBufferBytes, TIMEOUT);
    instance.send("{\"type\":\"register\",\"instance_id\":\"" + id + "\",\"public_key\":\""
        + Base64.getEncoder().encodeToString(KeyPair.generate().publicKey()) + "\"}");
    assertEquals("registered", type(instance.readText()));
    return instance;
  }

  private static String type(String json) throws IOException {
    return Json.MAPPER.readTree(json).path("type").asText();
  }
}
