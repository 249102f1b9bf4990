package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The byte fast paths of the data frames ({@link DataFrame#clientPayload}, {@link DataFrame#relayMessage})
 * accept only what the String decoder accepts, with the same fields; every other frame is left to it.
 */
class DataFrameBytesTest {
  private static final FieldLimits LIMITS = new FieldLimits(2, 20, 60, 16);

  private static ByteString bytes(String s) {
    return ByteString.fromArray(s.getBytes(StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"message\",\"payload\":\"AAECAw==\"}",
      "{\"type\":\"message\",\"payload\":\"\"}",
      "{\"type\":\"message\",\"payload\":\"QUJD\"}",
  })
  void clientFramesTheFastPathTakesDecodeAlikeAsStrings(String frame) {
    ByteString payload = DataFrame.clientPayload(bytes(frame));
    assertNotNull(payload, frame);
    Decoded<ClientFrame> decoded = TunnelCodec.decodeClient(frame);
    ClientFrame.Message message = assertInstanceOf(ClientFrame.Message.class,
        assertInstanceOf(Decoded.Ok.class, decoded).frame());
    assertEquals(message.payload(), payload.utf8String());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"message\",\"payload\":\"AAECAw=\"}",          // not a multiple of 4
      "{\"type\":\"message\",\"payload\":\"A=A=\"}",             // padding inside
      "{\"type\":\"message\",\"payload\":\"AAEC\\u0041w==\"}",   // an escape: JSON would read it, bytes do not
      "{\"type\":\"message\", \"payload\":\"AAECAw==\"}",        // a space
      "{\"payload\":\"AAECAw==\",\"type\":\"message\"}",         // other order
      "{\"type\":\"message\",\"payload\":\"AAECAw==\"} ",        // trailing space
      "{\"type\":\"message\",\"payload\":\"AAECAw==\",\"x\":1}", // another field
      "{\"type\":\"message\",\"payload\":\"AAEC\"}\"}",          // a quote inside
      "{\"type\":\"message\",\"payload\":\"é===\"}",             // non-ASCII
      "{\"type\":\"message\",\"payload\":\"",                    // truncated
      "{\"type\":\"ping\"}",
      "",
  })
  void anyOtherClientFrameIsLeftToTheStringDecoder(String frame) {
    assertNull(DataFrame.clientPayload(bytes(frame)), frame);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"relay_message\",\"session_id\":\"3f1c-aa\",\"payload\":\"AAECAw==\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"\",\"payload\":\"AAECAw==\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s p a c e\",\"payload\":\"\"}",
  })
  void relayMessagesTheFastPathTakesDecodeAlikeAsStrings(String frame) {
    DataFrame.Relay relay = DataFrame.relayMessage(bytes(frame));
    assertNotNull(relay, frame);
    Decoded<InstanceFrame> decoded = TunnelCodec.decodeInstance(frame, LIMITS);
    if (relay.sessionId().isEmpty()) {
      // The String fast path takes an empty id too (an unknown session); the tree decoder would call it missing.
      assertEquals("", DataFrame.read(TunnelCodec.MAPPER.getFactory(), frame).sessionId());
      return;
    }
    InstanceFrame.RelayMessage message = assertInstanceOf(InstanceFrame.RelayMessage.class,
        assertInstanceOf(Decoded.Ok.class, decoded).frame());
    assertEquals(message.sessionId(), relay.sessionId());
    assertEquals(message.payload(), relay.payload().utf8String());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"relay_message\",\"session_id\":\"a\\\"b\",\"payload\":\"AAECAw==\"}",   // escaped quote in the id
      "{\"type\":\"relay_message\",\"session_id\":\"a\\\\b\",\"payload\":\"AAECAw==\"}",   // escaped backslash
      "{\"type\":\"relay_message\",\"session_id\":\"é\",\"payload\":\"AAECAw==\"}",        // non-ASCII id
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":\"AAECAw=\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":\"AAECAw==\",\"x\":\"\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"x\":\"\",\"payload\":\"AAECAw==\"}",
      "{\"type\":\"relay_message\",\"payload\":\"AAECAw==\",\"session_id\":\"s\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":\"",
      "{\"type\":\"message\",\"payload\":\"AAECAw==\"}",
  })
  void anyOtherInstanceFrameIsLeftToTheStringDecoder(String frame) {
    assertNull(DataFrame.relayMessage(bytes(frame)), frame);
  }

  @Test
  void splicedFramesAreTheStringFramesByteForByte() {
    ByteString payload = bytes("xxAAECAw==yy").slice(2, 10);
    assertEquals(Replies.messageToClient("AAECAw=="), Replies.messageToClient(payload).utf8String());
    assertEquals(Replies.relayMessageToInstance("sess-1", "AAECAw=="),
        Replies.relayMessageToInstance(Replies.relayMessagePrefix("sess-1"), payload).utf8String());
  }
}
