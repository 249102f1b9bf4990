package dev.conduit.fuzz;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.fuzz.TunnelCase.Side;
import dev.conduit.server.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * Malformed relay-protocol frames for both WebSocket endpoints: every field of every message type
 * made missing, mistyped, too long or badly encoded (each with the error code the protocol gives it),
 * non-object JSON, truncations, invalid UTF-8 in binary frames, oversized frames, then random
 * mutations of valid frames and random bytes, classified by what the relay can make of them.
 */
final class TunnelFrameCorpus {
  static final String REGISTRATION_FAILED = "{\"type\":\"error\",\"message\":\"Registration failed\"}";
  static final String NOT_REGISTERED = "{\"type\":\"error\",\"message\":\"Not registered\"}";
  static final String INSTANCE_NOT_FOUND = "{\"type\":\"error\",\"message\":\"Instance not found\"}";
  static final String INVALID_CLAIM = "{\"type\":\"error\",\"message\":\"Invalid claim code\"}";

  private static final Set<String> INSTANCE_TYPES = Set.of("register", "ping", "pong", "update_urls",
      "relay_message", "create_claim");
  private static final Set<String> CLIENT_TYPES = Set.of("connect", "message", "ping", "close");
  private static final int MAX_INSTANCE_ID = dev.conduit.tunnel.TunnelCodec.MAX_INSTANCE_ID_LENGTH;
  private static final int MAX_USER_ID = dev.conduit.tunnel.TunnelCodec.MAX_USER_ID_LENGTH;
  private static final int MAX_CLAIM_CODE = dev.conduit.tunnel.TunnelCodec.MAX_CLAIM_CODE_LENGTH;

  private final SplittableRandom random;
  private final int maxFrameBytes;
  private final List<TunnelCase> cases = new ArrayList<>();

  private TunnelFrameCorpus(SplittableRandom random, int maxFrameBytes) {
    this.random = random;
    this.maxFrameBytes = maxFrameBytes;
  }

  static List<TunnelCase> generate(SplittableRandom random, int randomCases, int maxFrameBytes) {
    TunnelFrameCorpus corpus = new TunnelFrameCorpus(random, maxFrameBytes);
    corpus.common(Side.INSTANCE);
    corpus.common(Side.CLIENT);
    corpus.instanceFields();
    corpus.clientFields();
    corpus.mutants(Side.INSTANCE, randomCases);
    corpus.mutants(Side.CLIENT, randomCases);
    return corpus.cases;
  }

  // ------------------------------------------------------------ cases both endpoints share

  private void common(Side side) {
    for (String text : List.of("", " ", "{", "}", "{not json", "[]", "[{\"type\":\"ping\"}]", "\"ping\"", "42", "null",
        "true", "{\"type\":\"ping\"", "{'type':'ping'}", "{\"type\":ping}", "{\"type\":\"ping\",}", "\u0000",
        "NaN", "[" .repeat(5000) + "]".repeat(5000), "\uFEFF")) {
      both(side, "not a JSON object", text, new TunnelExpect.Error("invalid_json"));
    }
    for (String value : Mutations.NON_STRINGS) {
      both(side, "type of wrong JSON type", "{\"type\":" + value + "}", wrongType(value));
    }
    both(side, "no type", "{\"payload\":\"aGk=\"}", new TunnelExpect.Error("missing_field"));
    both(side, "empty type", "{\"type\":\"\"}", new TunnelExpect.Error("missing_field"));
    for (String type : List.of("PING", " ping", "ping ", "pi\u0000ng", "\u00fcnknown", "relay", "registered",
        "connected", "error", "x".repeat(10_000), Mutations.randomAscii(random, 40).replace("\"", "").replace("\\", ""))) {
      if (!types(side).contains(type)) {
        both(side, "unknown type", "{\"type\":" + quote(type) + "}", new TunnelExpect.Error("unknown_type"));
      }
    }
    // The other side's message types are unknown here.
    for (String type : side == Side.INSTANCE ? List.of("connect", "message", "close")
        : List.of("register", "pong", "update_urls", "relay_message", "create_claim")) {
      both(side, "other side's type", "{\"type\":" + quote(type) + "}", new TunnelExpect.Error("unknown_type"));
    }
    // Truncations of a valid frame are never JSON objects.
    String valid = side == Side.INSTANCE ? register(UUID.randomUUID().toString(), key(32)) : connectTo(uuid());
    for (int i = 0; i < 6; i++) {
      int cut = random.nextInt(valid.length() - 1) + 1;
      both(side, "truncated at " + cut, valid.substring(0, cut), new TunnelExpect.Error("invalid_json"));
    }
    // Invalid UTF-8 (binary only: a text frame cannot carry it): outside strings it breaks the JSON,
    // inside the type string it becomes U+FFFD, an unknown type.
    for (byte[] junk : List.of(new byte[] {(byte) 0xff}, new byte[] {(byte) 0xc0, (byte) 0x80},
        new byte[] {(byte) 0x80, (byte) 0x80}, new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
        new byte[] {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80})) {
      add(side, "invalid UTF-8 outside strings", concat(junk, Mutations.utf8("{\"type\":\"ping\"}")), true,
          new TunnelExpect.Error("invalid_json"));
      add(side, "invalid UTF-8 in the type", concat(Mutations.utf8("{\"type\":\""), junk, Mutations.utf8("\"}")), true,
          new TunnelExpect.Error("unknown_type"));
    }
    // Over the frame limit, text and binary: refused, and the socket stays usable.
    for (int extra : new int[] {1, 1000, maxFrameBytes}) {
      String huge = "{\"type\":\"ping\",\"pad\":\"" + "x".repeat(maxFrameBytes + extra) + "\"}";
      both(side, "oversized by " + extra, huge, new TunnelExpect.Error("frame_too_large"));
    }
    // Multi-byte characters: under the limit in chars, over it in UTF-8 bytes.
    String wide = "{\"type\":\"ping\",\"pad\":\"" + "\u20ac".repeat(maxFrameBytes / 3 + 10) + "\"}";
    add(side, "oversized in UTF-8 bytes", Mutations.utf8(wide), false, new TunnelExpect.Error("frame_too_large"));
  }

  // ------------------------------------------------------------ instance messages, field by field

  private void instanceFields() {
    String id = UUID.randomUUID().toString();
    String key = key(32);
    for (int length : new int[] {0, 1, 16, 31, 33, 48, 64, 1024}) {
      instance("public_key of " + length + " bytes", register(id, key(length)), exact(REGISTRATION_FAILED));
    }
    for (String bad : Mutations.BAD_BASE64) {
      instance("public_key not base64", register(id, bad), exact(REGISTRATION_FAILED));
    }
    for (String value : Mutations.NON_STRINGS) {
      instance("public_key of wrong JSON type", "{\"type\":\"register\",\"instance_id\":" + quote(id)
          + ",\"public_key\":" + value + "}", value.equals("null") ? exact(REGISTRATION_FAILED) : error("invalid_field"));
      instance("instance_id of wrong JSON type", "{\"type\":\"register\",\"instance_id\":" + value
          + ",\"public_key\":" + quote(key) + "}", wrongType(value));
      instance("direct_urls of wrong type", registerWith(id, key, ",\"direct_urls\":" + value),
          Set.of("null", "[]", "[\"a\"]").contains(value) ? null : error("invalid_field"));
      instance("protocol_versions of wrong type", registerWith(id, key, ",\"protocol_versions\":" + value),
          value.equals("null") ? null : value.startsWith("{") ? error("version_incompatible") : error("invalid_field"));
    }
    instance("register without public_key", "{\"type\":\"register\",\"instance_id\":" + quote(id) + "}",
        exact(REGISTRATION_FAILED));
    instance("register without instance_id", "{\"type\":\"register\",\"public_key\":" + quote(key) + "}",
        error("missing_field"));
    instance("empty instance_id", register("", key), error("missing_field"));
    instance("instance_id too long", register("i".repeat(MAX_INSTANCE_ID + 1 + random.nextInt(5000)), key), error("invalid_field"));
    for (String urls : List.of("[1]", "[\"a\",null]", "[[]]", "[{}]", "[\"ok\",true]")) {
      instance("direct_urls with a non-string", registerWith(id, key, ",\"direct_urls\":" + urls), error("invalid_field"));
      instance("update_urls with a non-string", "{\"type\":\"update_urls\",\"direct_urls\":" + urls + "}",
          error("invalid_field"));
    }
    for (String versions : List.of("{}", "{\"relay_protocol\":[]}", "{\"relay_protocol\":[\"2.0\"]}",
        "{\"relay_protocol\":\"1.0\"}", "{\"relay_protocol\":[1.0]}", "{\"relay_protocol\":[\"0.9\",\"10.1\"]}",
        "{\"relay_protocol\":null}", "{\"relay_protocol\":[\"\"]}", "{\"relay_protocol\":{\"1\":\"0\"}}")) {
      instance("relay_protocol without major 1", registerWith(id, key, ",\"protocol_versions\":" + versions),
          error("version_incompatible"));
    }
    for (String value : List.of("1", "true", "{}", "\"https://x\"")) {
      instance("update_urls direct_urls not an array", "{\"type\":\"update_urls\",\"direct_urls\":" + value + "}",
          error("invalid_field"));
    }
    instance("update_urls unregistered", "{\"type\":\"update_urls\",\"direct_urls\":[\"https://x\"]}",
        exact(NOT_REGISTERED));
    // relay_message: session_id, then payload.
    String session = Base64.getEncoder().withoutPadding().encodeToString(Mutations.randomBytes(random, 16));
    instance("relay_message without session_id", "{\"type\":\"relay_message\",\"payload\":\"aGk=\"}",
        error("missing_field"));
    instance("relay_message without payload", "{\"type\":\"relay_message\",\"session_id\":" + quote(session) + "}",
        error("missing_field"));
    for (String value : Mutations.NON_STRINGS) {
      instance("session_id of wrong JSON type", "{\"type\":\"relay_message\",\"session_id\":" + value
          + ",\"payload\":\"aGk=\"}", wrongType(value));
      instance("relay payload of wrong JSON type", "{\"type\":\"relay_message\",\"session_id\":" + quote(session)
          + ",\"payload\":" + value + "}", wrongType(value));
    }
    for (String bad : Mutations.BAD_BASE64) {
      instance("relay payload not base64", relayMessage(session, bad), error("invalid_base64"));
    }
    instance("relay_message unregistered", relayMessage(session, "aGk="), exact(NOT_REGISTERED));
    // create_claim: user_id, ttl_seconds.
    instance("create_claim without user_id", "{\"type\":\"create_claim\"}", error("missing_field"));
    instance("create_claim empty user_id", createClaim(quote(""), null), error("missing_field"));
    instance("create_claim user_id too long", createClaim(quote("u".repeat(MAX_USER_ID + 1)), null), error("invalid_field"));
    for (String value : Mutations.NON_STRINGS) {
      instance("user_id of wrong JSON type", createClaim(value, null), wrongType(value));
    }
    for (String ttl : List.of("0", "-5", "1.5", "\"300\"", "true", "[]", "{}", "1e3", "99999999999999999999999")) {
      instance("ttl_seconds invalid", createClaim(quote("u"), ttl), error("invalid_field"));
    }
    instance("create_claim unregistered", createClaim(quote("u"), "60"), exact(NOT_REGISTERED));
  }

  // ------------------------------------------------------------ client messages, field by field

  private void clientFields() {
    for (int length : new int[] {1, 16, 31, 33, 64}) {
      client("client_public_key of " + length + " bytes", connectWith(uuid(), ",\"client_public_key\":" + quote(key(length))),
          error("invalid_public_key"));
    }
    for (String bad : Mutations.BAD_BASE64) {
      client("client_public_key not base64", connectWith(uuid(), ",\"client_public_key\":" + quote(bad)),
          error("invalid_public_key"));
    }
    for (String versions : List.of("1", "\"1.0\"", "[]")) {
      client("connect protocol_versions not an object", connectWith(uuid(), ",\"protocol_versions\":" + versions),
          error("invalid_field"));
    }
    for (String versions : List.of("{}", "{\"relay_protocol\":[\"2.0\"]}",
        "{\"relay_protocol\":\"1.0\"}")) {
      client("connect protocol_versions unsupported", connectWith(uuid(), ",\"protocol_versions\":" + versions),
          error("version_incompatible"));
    }
    client("connect without target", "{\"type\":\"connect\"}", error("missing_field"));
    client("connect with empty targets", "{\"type\":\"connect\",\"instance_id\":\"\",\"claim_code\":\"\"}",
        error("missing_field"));
    for (String value : Mutations.NON_STRINGS) {
      client("connect targets of wrong JSON type", "{\"type\":\"connect\",\"instance_id\":" + value
          + ",\"claim_code\":" + value + "}", wrongType(value));
    }
    client("instance_id too long", connectTo("i".repeat(MAX_INSTANCE_ID + 1 + random.nextInt(3000))), error("invalid_field"));
    client("claim_code too long", connectClaim("C".repeat(MAX_CLAIM_CODE + 1)), error("invalid_field"));
    for (int i = 0; i < 8; i++) {
      client("unknown instance", connectTo(uuid()), exact(INSTANCE_NOT_FOUND));
    }
    for (String code : List.of("A", "ABCD-EFG", "ABCDEFGHI", "abcd efgh!", "0000-0000", "1111-IIII", "\u00c4BCD-EFGH",
        "ZZZZ-ZZZZ", randomClaimCode(), randomClaimCode(), randomClaimCode().toLowerCase())) {
      client("bad or unknown claim code", connectClaim(code), exact(INVALID_CLAIM));
    }
    client("message without payload", "{\"type\":\"message\"}", error("missing_field"));
    for (String value : Mutations.NON_STRINGS) {
      client("message payload of wrong JSON type", "{\"type\":\"message\",\"payload\":" + value + "}",
          wrongType(value));
    }
    for (String bad : Mutations.BAD_BASE64) {
      client("message payload not base64", "{\"type\":\"message\",\"payload\":" + quote(bad) + "}",
          error("invalid_base64"));
    }
    client("message before connect", "{\"type\":\"message\",\"payload\":\"aGk=\"}", error("not_connected"));
    client("close", "{\"type\":\"close\"}", new TunnelExpect.Closed());
  }

  // ------------------------------------------------------------ random mutations and random bytes

  private void mutants(Side side, int count) {
    List<String> seeds = side == Side.INSTANCE
        ? List.of(register(UUID.randomUUID().toString(), key(32)), "{\"type\":\"ping\"}",
            relayMessage("c2Vzc2lvbg", "aGVsbG8gd29ybGQ="), createClaim(quote("user-1"), "60"),
            "{\"type\":\"update_urls\",\"direct_urls\":[\"https://a.example\",\"http://10.0.0.1:8096\"]}",
            registerWith(UUID.randomUUID().toString(), key(32), ",\"direct_urls\":[\"https://x\"],"
                + "\"protocol_versions\":{\"relay_protocol\":[\"1.0\"],\"encryption_protocol\":[\"1.0\"]}"))
        : List.of(connectTo(uuid()), connectClaim(randomClaimCode()), "{\"type\":\"message\",\"payload\":\"aGVsbG8=\"}",
            "{\"type\":\"ping\"}", connectWith(uuid(), ",\"client_public_key\":" + quote(key(32))));
    for (int i = 0; i < count; i++) {
      byte[] data;
      String label;
      if (i % 10 == 9) {
        data = Mutations.randomBytes(random, random.nextInt(64));
        label = "random bytes";
      } else {
        data = Mutations.utf8(Mutations.pick(random, seeds));
        int rounds = 1 + random.nextInt(3);
        for (int r = 0; r < rounds; r++) {
          data = Mutations.mutate(random, data);
        }
        label = "mutant x" + rounds;
      }
      boolean binary = random.nextBoolean();
      if (!binary) {
        data = Mutations.utf8(new String(data, StandardCharsets.UTF_8)); // what a text frame can carry
      }
      add(side, label + " #" + i, data, binary, classify(side, new String(data, StandardCharsets.UTF_8)));
    }
  }

  /** What the relay must make of a frame whose content is random: decided by its JSON shape and type. */
  static TunnelExpect classify(Side side, String text) {
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      return new TunnelExpect.Error("invalid_json");
    }
    if (json == null || !json.isObject()) {
      return new TunnelExpect.Error("invalid_json");
    }
    JsonNode type = json.get("type");
    if (type == null || type.isNull() || type.isTextual() && type.asText().isEmpty()) {
      return new TunnelExpect.Error("missing_field");
    }
    if (!type.isTextual()) {
      return new TunnelExpect.Error("invalid_field");
    }
    String name = type.asText();
    if (!types(side).contains(name)) {
      return new TunnelExpect.Error("unknown_type");
    }
    return switch (name) {
      case "ping" -> new TunnelExpect.Pong();
      case "pong" -> new TunnelExpect.Nothing();
      case "close" -> new TunnelExpect.Closed();
      default -> new TunnelExpect.AnyReply();
    };
  }

  // ------------------------------------------------------------ helpers

  /** A field sent with a non-string JSON value: JSON null counts as absent, anything else is the wrong type. */
  private static TunnelExpect wrongType(String value) {
    return new TunnelExpect.Error(value.equals("null") ? "missing_field" : "invalid_field");
  }

  private static Set<String> types(Side side) {
    return side == Side.INSTANCE ? INSTANCE_TYPES : CLIENT_TYPES;
  }

  /** The case as a text frame and as a binary frame (the protocol accepts both). */
  private void both(Side side, String label, String text, TunnelExpect expect) {
    add(side, label, Mutations.utf8(text), false, expect);
    add(side, label, Mutations.utf8(text), true, expect);
  }

  private void instance(String label, String text, TunnelExpect expect) {
    if (expect != null) {
      add(Side.INSTANCE, label, Mutations.utf8(text), random.nextBoolean(), expect);
    }
  }

  private void client(String label, String text, TunnelExpect expect) {
    add(Side.CLIENT, label, Mutations.utf8(text), random.nextBoolean(), expect);
  }

  private void add(Side side, String label, byte[] data, boolean binary, TunnelExpect expect) {
    cases.add(new TunnelCase(label, side, data, binary, expect));
  }

  private static TunnelExpect error(String code) {
    return new TunnelExpect.Error(code);
  }

  private static TunnelExpect exact(String json) {
    return new TunnelExpect.Exact(json);
  }

  private String key(int length) {
    return Base64.getEncoder().encodeToString(Mutations.randomBytes(random, length));
  }

  private String uuid() {
    return new UUID(random.nextLong(), random.nextLong()).toString();
  }

  private String randomClaimCode() {
    String alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    StringBuilder code = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      code.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return code.insert(4, '-').toString();
  }

  static String quote(String s) {
    try {
      return Json.MAPPER.writeValueAsString(s);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String register(String id, String key) {
    return registerWith(id, key, "");
  }

  private static String registerWith(String id, String key, String more) {
    return "{\"type\":\"register\",\"instance_id\":" + quote(id) + ",\"public_key\":" + quote(key) + more + "}";
  }

  private static String relayMessage(String session, String payload) {
    return "{\"type\":\"relay_message\",\"session_id\":" + quote(session) + ",\"payload\":" + quote(payload) + "}";
  }

  private static String createClaim(String userIdJson, String ttlJson) {
    return "{\"type\":\"create_claim\",\"user_id\":" + userIdJson + (ttlJson == null ? "" : ",\"ttl_seconds\":" + ttlJson)
        + ",\"request_id\":\"r1\"}";
  }

  private static String connectTo(String instanceId) {
    return connectWith(instanceId, "");
  }

  private static String connectWith(String instanceId, String more) {
    return "{\"type\":\"connect\",\"instance_id\":" + quote(instanceId) + more + "}";
  }

  private static String connectClaim(String code) {
    return "{\"type\":\"connect\",\"claim_code\":" + quote(code) + "}";
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
