package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Per-address limits over real sockets: a request rate limit and a concurrent connection limit. */
class TunnelLimitsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final int RATE_BURST = 10;
  private static final int MAX_CONNECTIONS_PER_IP = 12;

  @Test
  void rateLimitAndConnectionLimitPerAddress() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.tunnel.rate-limit.burst", RATE_BURST,
             "conduit.tunnel.rate-limit.per-second", 0.001,
             "conduit.tunnel.max-connections-per-ip", MAX_CONNECTIONS_PER_IP)));
         SimulatedInstance instance = SimulatedInstance.start(server.wsBase(), UUID.randomUUID().toString(),
             KeyPair.generate(), Duration.ofSeconds(30), TIMEOUT);
         SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), instance.instanceId(), TIMEOUT)) {
      List<RelayConnection> sockets = new ArrayList<>();
      try {
        RelayConnection socket = RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT);
        sockets.add(socket);
        int refusedAfter = -1;
        for (int i = 0; i < RATE_BURST + 2 && refusedAfter < 0; i++) {
          socket.send("{\"type\":\"connect\",\"instance_id\":\"nobody-" + i + "\"}");
          JsonNode reply = socket.expect("error", TIMEOUT);
          if ("rate_limited".equals(reply.path("code").asText())) {
            refusedAfter = i;
          } else {
            assertEquals("Instance not found", reply.path("message").asText());
          }
        }
        // Two tokens went to the simulated instance's register and client's connect.
        assertEquals(RATE_BURST - 2, refusedAfter);

        // Fill the per-address connection limit; the next one is refused with a reason and closed.
        int open = 3; // instance, client and the socket above
        for (; open < MAX_CONNECTIONS_PER_IP; open++) {
          sockets.add(RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT));
        }
        RelayConnection refused = RelayConnection.open(server.wsBase().resolve(SimulatedClient.CLIENT_PATH), TIMEOUT);
        sockets.add(refused);
        JsonNode reply = refused.expect("error", TIMEOUT);
        assertEquals("too_many_connections", reply.path("code").asText());
        assertEquals(new RelayConnection.CloseFrame(1008, "too_many_connections"),
            refused.closeFrame().toCompletableFuture().get(10, TimeUnit.SECONDS));

        // The established session is unaffected by either limit.
        byte[] data = "unaffected".getBytes(StandardCharsets.UTF_8);
        assertEquals(new String(data, StandardCharsets.UTF_8),
            new String(client.echo(data), StandardCharsets.UTF_8));
      } finally {
        sockets.forEach(RelayConnection::close);
      }
    }
  }
}
