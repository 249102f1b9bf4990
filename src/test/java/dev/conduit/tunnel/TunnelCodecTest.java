package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every malformed frame maps to one exact error frame. */
class TunnelCodecTest {
  private static final String KEY_32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  private static final String KEY_31 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
  private static final String KEY_33 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

  @ParameterizedTest(name = "instance {0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "not json|{\"type\":\"error\",\"code\":\"invalid_json\",\"message\":\"Malformed JSON: expected one JSON object\"}",
      "[1,2]|{\"type\":\"error\",\"code\":\"invalid_json\",\"message\":\"Malformed JSON: expected one JSON object\"}",
      "{\"type\":\"teleport\"}|{\"type\":\"error\",\"code\":\"unknown_type\",\"message\":\"Unknown message type: teleport\"}",
      "{\"no_type\":1}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: type\"}",
      "{\"type\":\"register\",\"public_key\":\"" + KEY_32 + "\"}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: instance_id\"}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_31 + "\"}|{\"type\":\"error\",\"message\":\"Registration failed\"}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_33 + "\"}|{\"type\":\"error\",\"message\":\"Registration failed\"}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"!!notbase64!!\"}|{\"type\":\"error\",\"message\":\"Registration failed\"}",
      "{\"type\":\"register\",\"instance_id\":\"i\"}|{\"type\":\"error\",\"message\":\"Registration failed\"}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"protocol_versions\":{\"relay_protocol\":[\"2.0\"]}}|{\"type\":\"error\",\"code\":\"version_incompatible\",\"message\":\"Relay protocol version mismatch\",\"supported_versions\":[\"1.0\",\"1.1\"]}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"protocol_versions\":{\"relay_protocol\":[]}}|{\"type\":\"error\",\"code\":\"version_incompatible\",\"message\":\"Relay protocol version mismatch\",\"supported_versions\":[\"1.0\",\"1.1\"]}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"direct_urls\":\"http://x\"}|{\"type\":\"error\",\"code\":\"invalid_field\",\"message\":\"Invalid field: direct_urls\"}",
      "{\"type\":\"relay_message\",\"payload\":\"AA==\"}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: session_id\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":\"A=A=\"}|{\"type\":\"error\",\"code\":\"invalid_base64\",\"message\":\"Invalid base64 in payload\"}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":\"abc\"}|{\"type\":\"error\",\"code\":\"invalid_base64\",\"message\":\"Invalid base64 in payload\"}",
      "{\"type\":\"create_claim\"}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: user_id\"}",
      "{\"type\":\"create_claim\",\"user_id\":\"u\",\"ttl_seconds\":-5}|{\"type\":\"error\",\"code\":\"invalid_field\",\"message\":\"Invalid field: ttl_seconds\"}",
      "{\"type\":\"update_urls\",\"direct_urls\":[1]}|{\"type\":\"error\",\"code\":\"invalid_field\",\"message\":\"Invalid field: direct_urls\"}",
      "{\"type\":\"prove\"}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: mac\"}",
      "{\"type\":\"prove\",\"mac\":\"%%\"}|{\"type\":\"error\",\"code\":\"invalid_base64\",\"message\":\"Invalid base64 in mac\"}",
      "{\"type\":\"prove\",\"mac\":\"" + KEY_31 + "\"}|{\"type\":\"error\",\"code\":\"invalid_field\",\"message\":\"Invalid field: mac\"}",
  })
  void instanceFrameErrors(String frame, String expectedReply) {
    Decoded<InstanceFrame> decoded = TunnelCodec.decodeInstance(frame);
    assertEquals(expectedReply, assertInstanceOf(Decoded.Invalid.class, decoded).reply());
  }

  @ParameterizedTest(name = "client {0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "{|{\"type\":\"error\",\"code\":\"invalid_json\",\"message\":\"Malformed JSON: expected one JSON object\"}",
      "{\"type\":\"connect\"}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: instance_id or claim_code\"}",
      "{\"type\":\"connect\",\"instance_id\":\"i\",\"client_public_key\":\"" + KEY_31 + "\"}|{\"type\":\"error\",\"code\":\"invalid_public_key\",\"message\":\"Invalid client public key\"}",
      "{\"type\":\"connect\",\"instance_id\":\"i\",\"protocol_versions\":{\"relay_protocol\":[\"0.9\"]}}|{\"type\":\"error\",\"code\":\"version_incompatible\",\"message\":\"Relay protocol version mismatch\",\"supported_versions\":[\"1.0\",\"1.1\"]}",
      "{\"type\":\"message\"}|{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: payload\"}",
      "{\"type\":\"message\",\"payload\":\"%%%%\"}|{\"type\":\"error\",\"code\":\"invalid_base64\",\"message\":\"Invalid base64 in payload\"}",
      "{\"type\":\"register\"}|{\"type\":\"error\",\"code\":\"unknown_type\",\"message\":\"Unknown message type: register\"}",
  })
  void clientFrameErrors(String frame, String expectedReply) {
    Decoded<ClientFrame> decoded = TunnelCodec.decodeClient(frame);
    assertEquals(expectedReply, assertInstanceOf(Decoded.Invalid.class, decoded).reply());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\"}",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"protocol_versions\":{\"relay_protocol\":[\"1.3\",\"2.0\"]}}",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":\"\"}",
      "{\"type\":\"create_claim\",\"user_id\":\"u\",\"ttl_seconds\":60,\"request_id\":\"r\"}",
      "{\"type\":\"update_urls\",\"direct_urls\":[\"http://a\"]}",
      "{\"type\":\"ping\"}",
      "{\"type\":\"prove\",\"mac\":\"" + KEY_32 + "\"}",
  })
  void wellFormedInstanceFramesDecode(String frame) {
    assertInstanceOf(Decoded.Ok.class, TunnelCodec.decodeInstance(frame));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"type\":\"connect\",\"claim_code\":\"abcd-2345\"}",
      "{\"type\":\"connect\",\"instance_id\":\"i\",\"claim_code\":\"x\",\"client_public_key\":\"\"}",
      "{\"type\":\"message\",\"payload\":\"aGk=\"}",
      "{\"type\":\"close\"}",
  })
  void wellFormedClientFramesDecode(String frame) {
    assertInstanceOf(Decoded.Ok.class, TunnelCodec.decodeClient(frame));
  }

  /** Data frames take a streaming fast path; whatever it does not take must decode as before. */
  @org.junit.jupiter.api.Test
  void dataFramesDecodeTheSameOnTheFastPathAndOffIt() {
    String big = "QUJD".repeat(10_000); // 40,000 chars: over the size Jackson reads from a String in place
    assertEquals(new ClientFrame.Message("aGk="),
        ok(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"aGk=\"}")));
    assertEquals(new ClientFrame.Message("aGk="),
        ok(TunnelCodec.decodeClient("{\"payload\":\"aGk=\",\"type\":\"message\"}")));
    assertEquals(new ClientFrame.Message("aGk="), // another field: the general path, which ignores it
        ok(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"aGk=\",\"n\":1}")));
    assertEquals(new ClientFrame.Message("b2s="), // a repeated field: the last one, on both paths
        ok(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"aGk=\",\"payload\":\"b2s=\"}")));
    assertEquals(new ClientFrame.Message(big),
        ok(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"" + big + "\"}")));
    assertEquals(new InstanceFrame.RelayMessage("s1", big),
        ok(TunnelCodec.decodeInstance("{\"type\":\"relay_message\",\"session_id\":\"s1\",\"payload\":\"" + big + "\"}")));
    assertEquals("{\"type\":\"error\",\"code\":\"invalid_base64\",\"message\":\"Invalid base64 in payload\"}",
        invalid(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"a\\\"b\"}")));
    assertEquals("{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: session_id\"}",
        invalid(TunnelCodec.decodeInstance("{\"type\":\"relay_message\",\"payload\":\"aGk=\"}")));
    assertEquals("{\"type\":\"error\",\"code\":\"invalid_json\",\"message\":\"Malformed JSON: expected one JSON object\"}",
        invalid(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"aGk=\"")));
  }

  private static Object ok(Decoded<?> decoded) {
    return assertInstanceOf(Decoded.Ok.class, decoded).frame();
  }

  private static String invalid(Decoded<?> decoded) {
    return assertInstanceOf(Decoded.Invalid.class, decoded).reply();
  }

  /** Ids are logged: a newline or other control character in one would let a peer forge log lines. */
  @org.junit.jupiter.api.Test
  void idsWithControlCharactersAreRefused() {
    String invalid = "{\"type\":\"error\",\"code\":\"invalid_field\",\"message\":\"Invalid field: %s\"}";
    assertEquals(String.format(invalid, "instance_id"), invalid(TunnelCodec.decodeInstance(
        "{\"type\":\"register\",\"instance_id\":\"a\\nINFO forged\",\"public_key\":\"" + KEY_32 + "\"}")));
    assertEquals(String.format(invalid, "instance_id"), invalid(TunnelCodec.decodeClient(
        "{\"type\":\"connect\",\"instance_id\":\"a\\u0000b\"}")));
    assertEquals(String.format(invalid, "claim_code"), invalid(TunnelCodec.decodeClient(
        "{\"type\":\"connect\",\"claim_code\":\"ABCD\\rEFGH\"}")));
    assertEquals(String.format(invalid, "user_id"), invalid(TunnelCodec.decodeInstance(
        "{\"type\":\"create_claim\",\"user_id\":\"bob\\u001b[31m\"}")));
    assertInstanceOf(Decoded.Ok.class, TunnelCodec.decodeInstance(
        "{\"type\":\"register\",\"instance_id\":\"caf\u00e9-\u4e2d\",\"public_key\":\"" + KEY_32 + "\"}"));
  }
}
