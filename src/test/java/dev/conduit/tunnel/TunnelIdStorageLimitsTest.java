package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.persistence.DatabaseConfig;
import dev.conduit.persistence.PersistenceIds;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every id the tunnel accepts can be stored: the longest accepted instance id and user id are stored and
 * survive a restart, one character more is refused at once with invalid_field (not "Registration failed"
 * after the ask timeout because the journal refused the key pin's persistence id), on H2 and PostgreSQL.
 */
class TunnelIdStorageLimitsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final Duration PING = Duration.ofSeconds(30);

  @Test
  void limitsAreTheJournalColumnMinusEachPrefix() {
    assertEquals(255 - "KeyPin|".length(), TunnelCodec.MAX_INSTANCE_ID_LENGTH);
    assertEquals(255 - "ClaimCode|".length(), TunnelCodec.MAX_CLAIM_CODE_LENGTH);
    assertEquals(256, TunnelCodec.MAX_USER_ID_LENGTH);
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void longestIdsAreStoredAndOneMoreIsRefusedAtOnce(TestDatabase.Kind kind) throws Exception {
    String longestId = instanceId(TunnelCodec.MAX_INSTANCE_ID_LENGTH);
    String longestUser = "u".repeat(TunnelCodec.MAX_USER_ID_LENGTH);
    KeyPair owner = KeyPair.generate();
    String unusedCode;
    try (TestDatabase db = TestDatabase.create(kind)) {
      try (TestServer server = TestServer.start(db)) {
        assertJournalColumnsHold(db, PersistenceIds.COLUMN_LENGTH);
        URI ws = server.wsBase();
        try (SimulatedInstance instance = SimulatedInstance.start(ws, longestId, owner, PING, TIMEOUT)) {
          try (SimulatedClient client = SimulatedClient.connectToInstance(ws, longestId, TIMEOUT)) {
            assertEquals(longestId, client.connected().path("instance_id").asText());
          }
          String code = instance.createClaim(longestUser, TIMEOUT).path("code").asText();
          try (SimulatedClient client = SimulatedClient.connectWithClaim(ws, code, TIMEOUT)) {
            assertEquals(longestUser, client.connected().path("user_id").asText());
          }
          unusedCode = instance.createClaim(longestUser, TIMEOUT).path("code").asText();
          assertEquals(200, new EdgeApi(server.httpBase(), "").send("GET",
              "/relay/instances/" + longestId, null, Map.of()).status());
        }

        String tooLongId = instanceId(TunnelCodec.MAX_INSTANCE_ID_LENGTH + 1);
        assertRefused(ws.resolve(SimulatedInstance.TUNNEL_PATH), register(tooLongId, owner),
            "Invalid field: instance_id (at most 248 characters)");
        assertRefused(ws.resolve(SimulatedClient.CLIENT_PATH),
            "{\"type\":\"connect\",\"instance_id\":\"" + tooLongId + "\"}",
            "Invalid field: instance_id (at most 248 characters)");
        assertRefused(ws.resolve(SimulatedClient.CLIENT_PATH),
            "{\"type\":\"connect\",\"claim_code\":\"" + "C".repeat(TunnelCodec.MAX_CLAIM_CODE_LENGTH + 1) + "\"}",
            "Invalid field: claim_code (at most 245 characters)");
        EdgeApi.Response status = new EdgeApi(server.httpBase(), "").send("GET", "/relay/instances/" + tooLongId,
            null, Map.of());
        assertEquals(400, status.status());
        assertEquals("invalid_field", status.json().path("error").asText(), status.body());
        try (SimulatedInstance registered = SimulatedInstance.start(ws, instanceId(8), KeyPair.generate(), PING,
            TIMEOUT)) {
          registered.connection().send("{\"type\":\"create_claim\",\"user_id\":\"" + longestUser + "u\"}");
          JsonNode error = registered.events().poll(TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
          assertEquals("{\"type\":\"error\",\"code\":\"invalid_field\","
              + "\"message\":\"Invalid field: user_id (at most 256 characters)\"}", String.valueOf(error));
        }
      }

      // Stored, not just accepted: after a restart the pin of the longest id holds and its claim is there.
      try (TestServer restarted = TestServer.start(db)) {
        try (RelayConnection hijacker = RelayConnection.open(
            restarted.wsBase().resolve(SimulatedInstance.TUNNEL_PATH), TIMEOUT)) {
          hijacker.send(register(longestId, KeyPair.generate()));
          assertEquals("key_mismatch", hijacker.expect("error", TIMEOUT).path("code").asText());
        }
        try (SimulatedInstance instance = SimulatedInstance.start(restarted.wsBase(), longestId, owner, PING, TIMEOUT);
             SimulatedClient client = SimulatedClient.connectWithClaim(restarted.wsBase(), unusedCode, TIMEOUT)) {
          assertEquals(longestUser, client.connected().path("user_id").asText());
          assertEquals(instance.instanceId(), client.connected().path("instance_id").asText());
        }
      }
    }
  }

  private static void assertRefused(URI socket, String frame, String message) throws Exception {
    try (RelayConnection connection = RelayConnection.open(socket, TIMEOUT)) {
      assertRefused(connection, frame, message);
    }
  }

  private static void assertRefused(RelayConnection connection, String frame, String message) throws Exception {
    connection.send(frame);
    JsonNode error = connection.expect("error", TIMEOUT);
    assertEquals("invalid_field", error.path("code").asText(), error.toString());
    assertEquals(message, error.path("message").asText());
  }

  /** The persistence_id columns really are as long as the limits assume. */
  private static void assertJournalColumnsHold(TestDatabase db, int expected) throws Exception {
    DatabaseConfig database = DatabaseConfig.from(db.config().withFallback(ConfigFactory.load()).resolve());
    try (Connection connection = DriverManager.getConnection(database.url(), database.user(), database.password())) {
      for (String table : new String[] {"event_journal", "snapshot"}) {
        try (ResultSet column = connection.getMetaData().getColumns(null, null, table, "persistence_id")) {
          assertEquals(true, column.next(), table + ".persistence_id");
          assertEquals(expected, column.getInt("COLUMN_SIZE"), table + ".persistence_id");
        }
      }
    }
  }

  /** A UUID-like id padded to exactly length characters. */
  private static String instanceId(int length) {
    String prefix = java.util.UUID.randomUUID() + "-";
    return (prefix + "x".repeat(length)).substring(0, length);
  }

  private static String register(String instanceId, KeyPair key) {
    return "{\"type\":\"register\",\"instance_id\":\"" + instanceId + "\",\"public_key\":\""
        + Base64.getEncoder().encodeToString(key.publicKey()) + "\"}";
  }
}
