package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The size of a hub's gRPC messages is checked from each message's 5-byte header, over real HTTP/2:
 * a first (unauthenticated) message announcing 100 MB is refused with RESOURCE_EXHAUSTED although only
 * its first KiB was ever sent, so the edge cannot have waited to buffer it; later messages of an
 * authenticated hub have their own cap. Caps are the webhook.conf defaults (4 KiB / 64 KiB).
 */
class GrpcMessageLimitTest {
  /** A hang guard only: every answer here comes from the first frame the edge reads. */
  private static final Duration HANG = Duration.ofSeconds(30);
  private static final long HUNDRED_MB = 100L * 1024 * 1024;
  private static TestDatabase db;
  private static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(db, ConfigFactory.parseMap(Map.of("conduit.hub.hubs", "home:s3cret")));
  }

  @AfterAll
  static void stop() throws Exception {
    TestServer.close(server, db);
  }

  @Test
  void aFirstMessageOverThePreAuthenticationCapIsRefusedFromItsHeader() throws Exception {
    try (RawHttp2Call call = new RawHttp2Call(server.grpcPort(), HANG)) {
      call.send(concat(RawHttp2Call.messageHeader(HUNDRED_MB), new byte[1024]));
      RawHttp2Call.Outcome outcome = call.awaitEnd();
      assertEquals("trailers", outcome.endedBy());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), outcome.grpcStatus());
      assertEquals("message of 104857600 bytes over the limit of 4096 bytes before authentication",
          outcome.grpcMessage());
      assertEquals(0, outcome.data().length, "no connect_response: nothing was read as a message");
    }
  }

  @Test
  void aFirstMessageOneByteOverTheCapIsRefused() throws Exception {
    try (RawHttp2Call call = new RawHttp2Call(server.grpcPort(), HANG)) {
      call.send(RawHttp2Call.message(new byte[4097]));
      RawHttp2Call.Outcome outcome = call.awaitEnd();
      assertEquals("trailers", outcome.endedBy());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), outcome.grpcStatus());
      assertEquals("message of 4097 bytes over the limit of 4096 bytes before authentication", outcome.grpcMessage());
    }
  }

  @Test
  void aCompressedFirstMessageIsRefused() throws Exception {
    try (RawHttp2Call call = new RawHttp2Call(server.grpcPort(), HANG)) {
      byte[] header = RawHttp2Call.messageHeader(10);
      header[0] = 1;
      call.send(concat(header, new byte[10]));
      RawHttp2Call.Outcome outcome = call.awaitEnd();
      assertEquals(Status.Code.INVALID_ARGUMENT.value(), outcome.grpcStatus());
      assertEquals("compressed message before authentication: not accepted", outcome.grpcMessage());
    }
  }

  @Test
  void afterAnAcceptedConnectLaterMessagesHaveTheirOwnCap() throws Exception {
    try (RawHttp2Call call = new RawHttp2Call(server.grpcPort(), HANG)) {
      long now = Instant.now().getEpochSecond();
      byte[] connect = StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder().setHubId("home")
          .setTimestamp(now).setSignature(HubSignature.sign("home", now, "s3cret"))).build().toByteArray();
      call.send(RawHttp2Call.message(connect));
      byte[] header = Arrays.copyOf(call.awaitData(5), 5);
      int length = ByteBuffer.wrap(header, 1, 4).getInt();
      byte[] response = Arrays.copyOfRange(call.awaitData(5 + length), 5, 5 + length);
      assertTrue(StreamResponse.parseFrom(response).getConnectResponse().getSuccess());

      call.send(concat(RawHttp2Call.messageHeader(64 * 1024 + 1), new byte[100]));
      RawHttp2Call.Outcome outcome = call.awaitEnd();
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), outcome.grpcStatus());
      assertEquals("message of 65537 bytes over the limit of 65536 bytes", outcome.grpcMessage());
      assertArrayEquals(header, Arrays.copyOf(outcome.data(), 5), "only the connect_response came before");
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
