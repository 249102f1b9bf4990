package dev.conduit.fuzz;

import static dev.conduit.fuzz.FuzzEdge.HANG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.EdgeApi;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated gRPC corpus ({@link GrpcMessageCorpus}) against a real edge over h2c, with raw bytes
 * as messages so that non-protobuf input is covered too. A refused first message gets its
 * connect_response{success=false, error} and the stream ends; bytes that are no StreamRequest end
 * the stream with an error status; meaningless messages on a connected stream leave it working.
 * The good hub beside the corpus keeps receiving webhooks throughout.
 */
class FuzzGrpcTest {
  private static FuzzEdge edge;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    edge = new FuzzEdge();
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", edge.server.grpcPort(), InsecureChannelCredentials.create())
        .build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void badFirstMessagesAreRefusedAndTheStreamEnds() throws Exception {
    // The second hub: an accidentally valid connect must not replace the good hub's connection.
    List<GrpcMessageCorpus.GrpcCase> cases = GrpcMessageCorpus.firstMessages(FuzzSeed.random("grpc"),
        FuzzSeed.cases(), FuzzEdge.FUZZ_HUB, FuzzEdge.FUZZ_HUB_SECRET);
    int sent = 0;
    for (int i = 0; i < cases.size(); i++) {
      // Built now, as it is sent: its timestamp (and the refusal a mutant's timestamp earns) is relative
      // to this moment, not to when the corpus was made.
      GrpcMessageCorpus.Sent c = cases.get(i).at(Instant.now().getEpochSecond(), FuzzEdge.FUZZ_HUB,
          FuzzEdge.FUZZ_HUB_SECRET);
      if (c.skipped()) {
        continue;
      }
      sent++;
      String where = "case " + i + " of " + cases.size() + ": " + c + " (" + FuzzSeed.reproduce() + ")";
      try (RawGrpcCall call = new RawGrpcCall(channel)) {
        call.send(c.first());
        if (c.refusal() != null) {
          byte[] first = call.receive(HANG);
          assertNotNull(first, "hang or silence: no connect_response within " + HANG + " for " + where);
          StreamResponse response = StreamResponse.parseFrom(first);
          assertTrue(response.hasConnectResponse(), response + " for " + where);
          assertFalse(response.getConnectResponse().getSuccess(), where);
          assertEquals(c.refusal(), response.getConnectResponse().getError(), where);
          assertNotNull(call.awaitClose(HANG), "hang: stream not ended within " + HANG + " after " + where);
        } else {
          Status status = call.awaitClose(HANG);
          assertNotNull(status, "hang: stream not ended within " + HANG + " for " + where);
          assertFalse(status.isOk(), "an error status, not a silent OK, for " + where);
          byte[] response = call.receive(Duration.ZERO);
          assertTrue(response == null || !StreamResponse.parseFrom(response).getConnectResponse().getSuccess(), where);
        }
      }
    }
    assertTrue(sent > cases.size() / 2, "most cases are sent, not skipped: " + sent + " of " + cases.size());
    edge.assertStillServes("the gRPC first-message corpus (" + sent + " of " + cases.size() + " cases sent)");
  }

  /**
   * Regression: bytes that are no StreamRequest used to end the stream with a silent OK. Now the edge
   * fails it with INVALID_ARGUMENT; pekko-http may reset the HTTP/2 stream first (the request side
   * failed), which the hub sees as CANCELLED. Either way an error, never OK.
   */
  @Test
  void nonProtobufFirstMessageEndsTheStreamWithAnError() throws Exception {
    try (RawGrpcCall call = new RawGrpcCall(channel)) {
      call.send(new byte[] {(byte) 0xca, 0x1b, (byte) 0x84});
      Status status = call.awaitClose(HANG);
      assertNotNull(status, "hang: stream not ended");
      assertTrue(Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.CANCELLED).contains(status.getCode()),
          status.toString());
      assertEquals(null, call.receive(Duration.ZERO), "no connect_response for a message that is not one");
    }
  }

  @Test
  void meaninglessMessagesOnAConnectedStreamAreIgnoredAndItKeepsDelivering() throws Exception {
    String endpoint = edge.api.createEndpoint("fuzz-hub", edge.destination.url("/fuzz"), FuzzEdge.FUZZ_HUB);
    List<StreamRequest> junk = GrpcMessageCorpus.meaningless(FuzzSeed.random("grpc-connected"), FuzzSeed.cases());
    String where = junk.size() + " meaningless messages (" + FuzzSeed.reproduce() + ")";
    try (RawGrpcCall call = new RawGrpcCall(channel)) {
      long now = Instant.now().getEpochSecond();
      call.send(GrpcMessageCorpus.connect(FuzzEdge.FUZZ_HUB, now,
          HubSignature.sign(FuzzEdge.FUZZ_HUB, now, FuzzEdge.FUZZ_HUB_SECRET)).toByteArray());
      assertTrue(StreamResponse.parseFrom(receive(call, where)).getConnectResponse().getSuccess(), where);
      for (StreamRequest message : junk) {
        call.send(message.toByteArray());
      }
      // Still connected and serving: a webhook ingested now arrives, and an absurd-but-successful ack delivers it.
      String id = edge.api.ingestOk(endpoint, "{\"after\":\"junk\"}");
      WebhookEnvelope webhook = nextWebhook(call, where);
      assertEquals(id, webhook.getId(), where);
      call.send(StreamRequest.newBuilder().setAck(DeliveryAck.newBuilder().setWebhookId(id).setSuccess(true)
          .setStatusCode(Integer.MAX_VALUE)).build().toByteArray());
      assertEquals(Integer.MAX_VALUE, edge.api.awaitStatus(id, "delivered", Duration.ofSeconds(30))
          .path("last_status_code").asInt(), where);
      // Then bytes that are no StreamRequest: the stream ends with an error status.
      call.send(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
      Status status = call.awaitClose(HANG);
      assertNotNull(status, "hang: stream not ended after a non-protobuf message, " + where);
      assertFalse(status.isOk(), "an error status, not a silent OK, after a non-protobuf message: " + status);
    }
    edge.assertStillServes("the connected-hub gRPC corpus");
  }

  @Test
  void grpcPathOverHttp11IsAnsweredWithoutAServerError() throws Exception {
    // gRPC content types get a gRPC answer (200 with a grpc-status), others 415: never a 5xx.
    for (String contentType : List.of("application/grpc", "application/grpc+proto", "text/plain", "application/json")) {
      EdgeApi.Response response = edge.api.send("POST", "/hookly.v1.RelayService/Stream", "\u0000\u0000\u0000\u0000\u0003abc",
          Map.of("Content-Type", contentType));
      assertTrue(response.status() < 500, contentType + " -> " + response);
    }
    edge.assertFreshHubServes("the gRPC corpora");
  }

  private static byte[] receive(RawGrpcCall call, String where) throws Exception {
    byte[] message = call.receive(HANG);
    assertNotNull(message, "hang: nothing from the edge within " + HANG + ", " + where);
    return message;
  }

  private static WebhookEnvelope nextWebhook(RawGrpcCall call, String where) throws Exception {
    while (true) {
      StreamResponse response = StreamResponse.parseFrom(receive(call, where));
      if (response.hasWebhook()) {
        return response.getWebhook();
      }
    }
  }
}
