package dev.conduit.hub.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** The Connect envelope framing and end-stream message as pure functions. */
class EnvelopeTest {

  @Test
  void envelopesSplitAcrossChunksComeOutWhole() {
    ByteString two = Envelope.frame(0, bytes("abc")).concat(Envelope.frame(Envelope.COMPRESSED, bytes("de")));
    Envelope.Result first = Envelope.Buffer.EMPTY.push(two.take(6), 100, 100);
    assertEquals(0, first.frames().size(), "5-byte header and 1 of 3 bytes: nothing whole yet");
    Envelope.Result rest = first.buffer().push(two.drop(6), 100, 100);
    assertEquals(2, rest.frames().size());
    assertEquals(new Envelope.Frame(0, ByteString.fromString("abc")), rest.frames().get(0));
    assertEquals(new Envelope.Frame(Envelope.COMPRESSED, ByteString.fromString("de")), rest.frames().get(1));
    assertEquals(0, rest.buffer().pending().size());
  }

  @Test
  void anEnvelopeOverTheLimitFailsFromItsHeaderAlone() {
    ByteString header = Envelope.frame(0, new byte[101]).take(Envelope.HEADER_BYTES);
    GrpcServiceException e = assertThrows(GrpcServiceException.class,
        () -> Envelope.Buffer.EMPTY.push(Envelope.frame(0, new byte[1]), 1000, 100).buffer().push(header, 1000, 100));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertEquals("message of 101 bytes over the limit of 100 bytes", e.getStatus().getDescription());
  }

  @Test
  void theFirstEnvelopeHasTheSmallerPreAuthenticationCap() {
    ByteString header = Envelope.frame(0, new byte[101]).take(Envelope.HEADER_BYTES);
    GrpcServiceException e = assertThrows(GrpcServiceException.class, () -> Envelope.Buffer.EMPTY.push(header, 100, 1000));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertEquals("message of 101 bytes over the limit of 100 bytes before authentication", e.getStatus().getDescription());
    ByteString small = Envelope.frame(0, new byte[100]);
    assertEquals(1, Envelope.Buffer.EMPTY.push(small.concat(header), 100, 1000).frames().size(),
        "the second envelope is held to the larger cap");
  }

  @Test
  void endStreamMessages() {
    assertEquals("{}", text(Envelope.endStream(Status.OK)));
    assertEquals("{\"error\":{\"code\":\"unauthenticated\",\"message\":\"invalid signature\"}}",
        text(Envelope.endStream(Status.UNAUTHENTICATED.withDescription("invalid signature"))));
    assertEquals(Envelope.END_STREAM, Envelope.endStream(Status.OK).apply(0));
    assertEquals("canceled", Envelope.code(Status.Code.CANCELLED));
  }

  @Test
  void gzipRoundTripAndItsCap() {
    byte[] message = bytes("x".repeat(1000));
    assertEquals(new String(message, StandardCharsets.UTF_8), new String(
        Envelope.gunzip(ByteString.fromArray(Envelope.gzip(message)), 1000), StandardCharsets.UTF_8));
    GrpcServiceException e = assertThrows(GrpcServiceException.class,
        () -> Envelope.gunzip(ByteString.fromArray(Envelope.gzip(message)), 999));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(ByteString envelope) {
    return envelope.drop(Envelope.HEADER_BYTES).utf8String();
  }
}
