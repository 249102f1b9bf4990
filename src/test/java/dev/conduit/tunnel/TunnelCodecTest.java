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
  /** Small bounds, so the cases below show each one exactly. */
  private static final FieldLimits LIMITS = new FieldLimits(2, 20, 60, 16);
  private static final String INVALID = "{\"type\":\"error\",\"code\":\"invalid_field\",\"message\":\"Invalid field: ";
  private static final String MISSING = "{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: ";

  private static Decoded<InstanceFrame> decodeInstance(String frame) {
    return TunnelCodec.decodeInstance(frame, LIMITS);
  }

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
    Decoded<InstanceFrame> decoded = decodeInstance(frame);
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
    assertInstanceOf(Decoded.Ok.class, decodeInstance(frame));
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
        ok(decodeInstance("{\"type\":\"relay_message\",\"session_id\":\"s1\",\"payload\":\"" + big + "\"}")));
    assertEquals("{\"type\":\"error\",\"code\":\"invalid_base64\",\"message\":\"Invalid base64 in payload\"}",
        invalid(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":\"a\\\"b\"}")));
    assertEquals("{\"type\":\"error\",\"code\":\"missing_field\",\"message\":\"Missing field: session_id\"}",
        invalid(decodeInstance("{\"type\":\"relay_message\",\"payload\":\"aGk=\"}")));
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
    assertEquals(String.format(invalid, "instance_id"), invalid(decodeInstance(
        "{\"type\":\"register\",\"instance_id\":\"a\\nINFO forged\",\"public_key\":\"" + KEY_32 + "\"}")));
    assertEquals(String.format(invalid, "instance_id"), invalid(TunnelCodec.decodeClient(
        "{\"type\":\"connect\",\"instance_id\":\"a\\u0000b\"}")));
    assertEquals(String.format(invalid, "claim_code"), invalid(TunnelCodec.decodeClient(
        "{\"type\":\"connect\",\"claim_code\":\"ABCD\\rEFGH\"}")));
    assertEquals(String.format(invalid, "user_id"), invalid(decodeInstance(
        "{\"type\":\"create_claim\",\"user_id\":\"bob\\u001b[31m\"}")));
    assertInstanceOf(Decoded.Ok.class, decodeInstance(
        "{\"type\":\"register\",\"instance_id\":\"caf\u00e9-\u4e2d\",\"public_key\":\"" + KEY_32 + "\"}"));
  }

  /** A field present with the wrong JSON type is invalid_field (README), never taken for absent (missing_field). */
  @ParameterizedTest(name = "instance {0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "{\"type\":1}|type",
      "{\"type\":[\"ping\"]}|type",
      "{\"type\":\"register\",\"instance_id\":[\"x\"],\"public_key\":\"" + KEY_32 + "\"}|instance_id",
      "{\"type\":\"register\",\"instance_id\":7,\"public_key\":\"" + KEY_32 + "\"}|instance_id",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":32}|public_key",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"direct_urls\":{}}|direct_urls",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"protocol_versions\":[\"1.0\"]}|protocol_versions",
      "{\"type\":\"update_urls\",\"direct_urls\":true}|direct_urls",
      "{\"type\":\"relay_message\",\"session_id\":5,\"payload\":\"aGk=\"}|session_id",
      "{\"type\":\"relay_message\",\"session_id\":\"s\",\"payload\":5}|payload",
      "{\"type\":\"create_claim\",\"user_id\":{}}|user_id",
      "{\"type\":\"create_claim\",\"user_id\":\"u\",\"ttl_seconds\":\"300\"}|ttl_seconds",
  })
  void instanceFieldsOfTheWrongJsonTypeAreInvalidField(String frame, String field) {
    assertEquals(INVALID + field + "\"}", invalid(decodeInstance(frame)));
  }

  @ParameterizedTest(name = "client {0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "{\"type\":1}|type",
      "{\"type\":{}}|type",
      "{\"type\":\"connect\",\"instance_id\":[\"x\"]}|instance_id",
      "{\"type\":\"connect\",\"instance_id\":[\"x\"],\"claim_code\":\"ABCD2345\"}|instance_id",
      "{\"type\":\"connect\",\"claim_code\":5}|claim_code",
      "{\"type\":\"connect\",\"instance_id\":\"i\",\"client_public_key\":5}|client_public_key",
      "{\"type\":\"connect\",\"instance_id\":\"i\",\"protocol_versions\":\"1.0\"}|protocol_versions",
      "{\"type\":\"message\",\"payload\":5}|payload",
      "{\"type\":\"message\",\"payload\":[\"aGk=\"]}|payload",
  })
  void clientFieldsOfTheWrongJsonTypeAreInvalidField(String frame, String field) {
    assertEquals(INVALID + field + "\"}", invalid(TunnelCodec.decodeClient(frame)));
  }

  /** JSON null is absent: missing_field where the field is required. */
  @org.junit.jupiter.api.Test
  void nullFieldsAreMissing() {
    assertEquals(MISSING + "type\"}", invalid(decodeInstance("{\"type\":null}")));
    assertEquals(MISSING + "payload\"}", invalid(TunnelCodec.decodeClient("{\"type\":\"message\",\"payload\":null}")));
    assertEquals(MISSING + "instance_id\"}", invalid(decodeInstance(
        "{\"type\":\"register\",\"instance_id\":null,\"public_key\":\"" + KEY_32 + "\"}")));
  }

  /** What a registered (or recently offline) instance makes the relay keep is bounded, with the bound in the answer. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"direct_urls\":[\"a\",\"b\",\"c\"]}|direct_urls (at most 2 URLs)",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"direct_urls\":[\"http://a\",\"http://123456789012345\"]}|direct_urls (each URL at most 20 characters)",
      "{\"type\":\"update_urls\",\"direct_urls\":[\"a\",\"b\",\"c\"]}|direct_urls (at most 2 URLs)",
      "{\"type\":\"update_urls\",\"direct_urls\":[\"http://123456789012345\"]}|direct_urls (each URL at most 20 characters)",
      "{\"type\":\"register\",\"instance_id\":\"i\",\"public_key\":\"" + KEY_32 + "\",\"protocol_versions\":{\"relay_protocol\":[\"1.0\"],\"api_protocol\":[\"1.0\",\"1.1\",\"1.2\"]}}|protocol_versions (at most 60 characters of JSON)",
      "{\"type\":\"create_claim\",\"user_id\":\"u\",\"request_id\":\"0123456789abcdef\"}|request_id (at most 16 characters of JSON)",
  })
  void oversizeStateIsRefusedWithItsBound(String frame, String fieldAndBound) {
    assertEquals(INVALID + fieldAndBound + "\"}", invalid(decodeInstance(frame)));
  }

  @org.junit.jupiter.api.Test
  void stateAtTheBoundsIsAccepted() {
    InstanceFrame.Register register = (InstanceFrame.Register) ok(decodeInstance("{\"type\":\"register\",\"instance_id\":\"i\","
        + "\"public_key\":\"" + KEY_32 + "\",\"direct_urls\":[\"http://1234567890123\",\"b\"],"
        + "\"protocol_versions\":{\"relay_protocol\":[\"1.0\"],\"api_protocol\":[\"1.0\",\"1.10\",\"9\"]}}"));
    assertEquals(java.util.List.of("http://1234567890123", "b"), register.directUrls());
    assertEquals(60, register.protocolVersions().toString().length());
    assertInstanceOf(Decoded.Ok.class, decodeInstance("{\"type\":\"create_claim\",\"user_id\":\"u\",\"request_id\":\"0123456789abcd\"}"));
  }
}
