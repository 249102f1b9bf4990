package dev.conduit.fuzz;

import static dev.conduit.fuzz.FuzzEdge.HANG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.fuzz.TunnelCase.Side;
import dev.conduit.server.Json;
import dev.conduit.simulate.RelayConnection;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated tunnel corpus ({@link TunnelFrameCorpus}) against a real relay, over both WebSocket
 * endpoints, text and binary frames. After every frame a ping must come back as pong on the same
 * socket, so a frame answered with silence, a hang or a socket dropped is caught at that case.
 */
class FuzzTunnelTest {
  private static final String PING = "{\"type\":\"ping\"}";

  private static FuzzEdge edge;
  private static HttpClient http;

  @BeforeAll
  static void start() throws Exception {
    edge = new FuzzEdge();
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() throws Exception {
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void everyMalformedFrameGetsItsAnswerAndTheSessionBesideItKeepsWorking() throws Exception {
    List<TunnelCase> cases = TunnelFrameCorpus.generate(FuzzSeed.random("tunnel"), FuzzSeed.cases(),
        FuzzEdge.MAX_FRAME_BYTES);
    try (RelayConnection instanceSocket = open(Side.INSTANCE); RelayConnection clientSocket = open(Side.CLIENT)) {
      for (int i = 0; i < cases.size(); i++) {
        TunnelCase c = cases.get(i);
        String where = "case " + i + " of " + cases.size() + ": " + c + " (" + FuzzSeed.reproduce() + ")";
        if (c.expect().needsFreshSocket()) {
          try (RelayConnection socket = open(c.side())) {
            check(socket, c, where);
          }
        } else {
          check(c.side() == Side.INSTANCE ? instanceSocket : clientSocket, c, where);
        }
      }
      // The two sockets that took every stateless case are still open and answering.
      assertFalse(instanceSocket.isClosed(), "instance socket still open");
      assertFalse(clientSocket.isClosed(), "client socket still open");
    }
    edge.assertStillServes("the tunnel corpus (" + cases.size() + " cases)");
    edge.assertFreshHubServes("the tunnel corpus");
  }

  private static RelayConnection open(Side side) throws Exception {
    String path = side == Side.INSTANCE ? SimulatedInstance.TUNNEL_PATH : SimulatedClient.CLIENT_PATH;
    return RelayConnection.open(http, edge.server.wsBase().resolve(path), HANG);
  }

  private static void check(RelayConnection socket, TunnelCase c, String where) throws Exception {
    if (c.binary()) {
      socket.sendBinary(c.data());
    } else {
      socket.send(c.text());
    }
    TunnelExpect expect = c.expect();
    if (expect instanceof TunnelExpect.Closed) {
      try {
        socket.closed().toCompletableFuture().get(HANG.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        fail("hang: socket not closed within " + HANG + " after " + where);
      }
      return;
    }
    socket.send(PING);
    boolean answered = !(expect instanceof TunnelExpect.Pong || expect instanceof TunnelExpect.Nothing);
    List<JsonNode> replies = replies(socket, answered ? 1 : 0, expect instanceof TunnelExpect.Pong ? 2 : 1, where);
    if (expect instanceof TunnelExpect.Error error) {
      assertEquals(1, replies.size(), "one answer to " + where + ", got " + replies);
      JsonNode reply = replies.get(0);
      assertEquals("error", reply.path("type").asText(), where + ", got " + reply);
      assertEquals(error.code(), reply.path("code").asText(), where + ", got " + reply);
      assertFalse(reply.path("message").asText().isBlank(), "error message for " + where);
    } else if (expect instanceof TunnelExpect.Exact exact) {
      assertEquals(List.of(Json.MAPPER.readTree(exact.json())), replies, where);
    } else if (expect instanceof TunnelExpect.Pong || expect instanceof TunnelExpect.Nothing) {
      assertEquals(List.of(), replies, where);
    } else if (expect instanceof TunnelExpect.AnyReply) {
      assertEquals(1, replies.size(), "one answer to " + where + ", got " + replies);
      JsonNode reply = replies.get(0);
      assertFalse(reply.path("type").asText().isEmpty(), where + ", got " + reply);
      if ("error".equals(reply.path("type").asText())) {
        assertFalse(reply.path("message").asText().isBlank(), "error message for " + where + ", got " + reply);
      }
    } else {
      fail("unhandled expectation " + expect);
    }
  }

  /**
   * Frames until at least the given number of answers and of pongs arrived; returns the answers (not
   * the pongs). Some answers take a round trip through the registry, so the pong may come first.
   * A frame that never comes fails as a hang; an extra answer shows up at the next case.
   */
  private static List<JsonNode> replies(RelayConnection socket, int answers, int pongs, String where)
      throws Exception {
    List<JsonNode> others = new ArrayList<>();
    int seen = 0;
    while (seen < pongs || others.size() < answers) {
      JsonNode frame = socket.receive(HANG);
      if (frame == null) {
        fail("hang or silence: no frame within " + HANG + " (socket " + (socket.isClosed() ? "closed" : "open")
            + ", got " + others + ") after " + where);
      }
      if ("pong".equals(frame.path("type").asText())) {
        seen++;
      } else {
        others.add(frame);
      }
    }
    return others;
  }
}
