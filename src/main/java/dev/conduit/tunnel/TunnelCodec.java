package dev.conduit.tunnel;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conduit.server.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Decodes the JSON frames of relay protocol 1.0 into {@link InstanceFrame}s and {@link ClientFrame}s.
 * Every way a frame can be wrong maps to one precise error frame ({@link Replies}).
 */
public final class TunnelCodec {
  static final ObjectMapper MAPPER = Json.MAPPER;
  static final int KEY_BYTES = 32;
  /** instance_id (register and connect): its key pin's persistence id must fit the journal. */
  public static final int MAX_INSTANCE_ID_LENGTH = KeyPin.MAX_INSTANCE_ID_LENGTH;
  /** claim_code as typed (before normalisation): never longer than a code the journal could hold. */
  public static final int MAX_CLAIM_CODE_LENGTH = ClaimCode.MAX_CODE_LENGTH;
  /** user_id is stored inside a claim's event payload (no column limit) and echoed in connected: a protocol bound. */
  public static final int MAX_USER_ID_LENGTH = 256;
  private static final int MAX_ECHOED_TYPE_LENGTH = 64;

  private TunnelCodec() {}

  /** Decodes an instance's frame; limits bound what a register or update_urls may make the relay keep. */
  public static Decoded<InstanceFrame> decodeInstance(String text, FieldLimits limits) {
    DataFrame data = DataFrame.read(MAPPER.getFactory(), text);
    if (data != null && "relay_message".equals(data.type()) && data.sessionId() != null && data.payload() != null
        && Base64Payload.isValid(data.payload())) {
      return ok(new InstanceFrame.RelayMessage(data.sessionId(), data.payload()));
    }
    return parse(text).map(json -> refusalOr(() -> instanceFrame(json, limits))).orElseGet(TunnelCodec::malformed);
  }

  public static Decoded<ClientFrame> decodeClient(String text) {
    DataFrame data = DataFrame.read(MAPPER.getFactory(), text);
    if (data != null && "message".equals(data.type()) && data.payload() != null && Base64Payload.isValid(data.payload())) {
      return ok(new ClientFrame.Message(data.payload()));
    }
    return parse(text).map(json -> refusalOr(() -> clientFrame(json))).orElseGet(TunnelCodec::malformed);
  }

  private static Decoded<InstanceFrame> instanceFrame(JsonNode json, FieldLimits limits) {
    return switch (typeOf(json)) {
      case "register" -> register(json, limits);
      case "ping" -> ok(new InstanceFrame.Ping());
      case "pong" -> ok(new InstanceFrame.Pong());
      case "update_urls" -> ok(new InstanceFrame.UpdateUrls(directUrls(json, limits)));
      case "relay_message" -> {
        String sessionId = requiredText(json, "session_id");
        String payload = requiredText(json, "payload");
        yield Base64Payload.isValid(payload)
            ? ok(new InstanceFrame.RelayMessage(sessionId, payload)) : invalidBase64("payload");
      }
      case "create_claim" -> createClaim(json, limits);
      case "prove" -> {
        Optional<byte[]> decoded = Base64Payload.decode(requiredText(json, "mac"));
        if (decoded.isEmpty()) yield invalidBase64("mac");
        yield decoded.get().length == PossessionProof.MAC_BYTES
            ? ok(new InstanceFrame.Prove(decoded.get())) : invalidField("mac");
      }
      default -> unknownType(json);
    };
  }

  private static Decoded<ClientFrame> clientFrame(JsonNode json) {
    return switch (typeOf(json)) {
      case "connect" -> connect(json);
      case "message" -> {
        String payload = requiredText(json, "payload");
        yield Base64Payload.isValid(payload) ? ok(new ClientFrame.Message(payload)) : invalidBase64("payload");
      }
      case "ping" -> ok(new ClientFrame.Ping());
      case "close" -> ok(new ClientFrame.Close());
      default -> unknownType(json);
    };
  }

  private static Decoded<InstanceFrame> register(JsonNode json, FieldLimits limits) {
    String instanceId = requiredText(json, "instance_id");
    Decoded<InstanceFrame> badId = checkId("instance_id", instanceId, MAX_INSTANCE_ID_LENGTH);
    if (badId != null) return badId;
    String key = text(json, "public_key");
    Optional<byte[]> decoded = key == null ? Optional.empty() : Base64Payload.decode(key);
    if (decoded.isEmpty() || decoded.get().length != KEY_BYTES) {
      String why = key == null ? "missing public_key"
          : decoded.isEmpty() ? "public_key is not valid base64"
          : "public_key decodes to " + decoded.get().length + " bytes, expected " + KEY_BYTES;
      return new Decoded.Invalid<>(Replies.registrationFailed(), why);
    }
    List<String> urls = directUrls(json, limits);
    JsonNode versions = json.get("protocol_versions");
    if (versions != null && !versions.isNull()) {
      if (!versions.isObject()) return invalidField("protocol_versions");
      // Kept while the instance is registered and echoed to each of its clients: bounded.
      if (versions.toString().length() > limits.maxProtocolVersionsChars()) {
        return invalidField("protocol_versions", "at most " + limits.maxProtocolVersionsChars() + " characters of JSON");
      }
      if (!RelayVersion.supportsAnyOf(versions.get("relay_protocol"))) {
        return new Decoded.Invalid<>(Replies.versionIncompatible(), "relay_protocol without major 1");
      }
    } else {
      versions = null;
    }
    return ok(new InstanceFrame.Register(instanceId, decoded.get(), key, urls, versions));
  }

  /** direct_urls of a register or update_urls: absent or null is none; bounded in count and length. */
  private static List<String> directUrls(JsonNode json, FieldLimits limits) {
    Optional<List<String>> urls = stringArray(json, "direct_urls");
    if (urls == null) throw new Refusal(invalidField("direct_urls"));
    List<String> list = urls.orElse(List.of());
    if (list.size() > limits.maxDirectUrls()) {
      throw new Refusal(invalidField("direct_urls", "at most " + limits.maxDirectUrls() + " URLs"));
    }
    if (list.stream().anyMatch(url -> url.length() > limits.maxDirectUrlLength())) {
      throw new Refusal(invalidField("direct_urls", "each URL at most " + limits.maxDirectUrlLength() + " characters"));
    }
    return list;
  }

  private static Decoded<InstanceFrame> createClaim(JsonNode json, FieldLimits limits) {
    String userId = requiredText(json, "user_id");
    Decoded<InstanceFrame> badId = checkId("user_id", userId, MAX_USER_ID_LENGTH);
    if (badId != null) return badId;
    JsonNode ttl = json.get("ttl_seconds");
    Long ttlSeconds = null;
    if (ttl != null && !ttl.isNull()) {
      if (!ttl.canConvertToLong() || !ttl.isIntegralNumber() || ttl.asLong() <= 0) return invalidField("ttl_seconds");
      ttlSeconds = ttl.asLong();
    }
    JsonNode requestId = json.get("request_id");
    if (requestId != null && requestId.toString().length() > limits.maxRequestIdChars()) {
      return invalidField("request_id", "at most " + limits.maxRequestIdChars() + " characters of JSON");
    }
    return ok(new InstanceFrame.CreateClaim(userId, ttlSeconds, requestId));
  }

  private static Decoded<ClientFrame> connect(JsonNode json) {
    JsonNode versions = json.get("protocol_versions");
    if (versions != null && !versions.isNull()) {
      if (!versions.isObject()) return invalidField("protocol_versions");
      if (!RelayVersion.supportsAnyOf(versions.get("relay_protocol"))) {
        return new Decoded.Invalid<>(Replies.versionIncompatible(), "relay_protocol without major 1");
      }
    }
    String clientKey = text(json, "client_public_key");
    if (clientKey != null && !clientKey.isEmpty()) {
      Optional<byte[]> decoded = Base64Payload.decode(clientKey);
      if (decoded.isEmpty() || decoded.get().length != KEY_BYTES) {
        return new Decoded.Invalid<>(Replies.refusal("invalid_public_key", "Invalid client public key"),
            "client_public_key is not 32 bytes of base64");
      }
    }
    String instanceId = text(json, "instance_id");
    String claimCode = text(json, "claim_code");
    if (instanceId != null && !instanceId.isEmpty()) {
      Decoded<ClientFrame> badId = checkId("instance_id", instanceId, MAX_INSTANCE_ID_LENGTH);
      if (badId != null) return badId;
      return ok(new ClientFrame.Connect(instanceId, null, clientKey));
    }
    if (claimCode != null && !claimCode.isEmpty()) {
      Decoded<ClientFrame> badId = checkId("claim_code", claimCode, MAX_CLAIM_CODE_LENGTH);
      if (badId != null) return badId;
      return ok(new ClientFrame.Connect(null, claimCode, clientKey));
    }
    return missing("instance_id or claim_code");
  }

  /**
   * Ids end up in the journal, logs and status pages: at most max characters (what storage holds), and
   * no control characters, so that nobody can forge a log line with an instance id that contains a
   * newline. Null when acceptable, else the invalid_field refusal.
   */
  private static <T> Decoded<T> checkId(String field, String id, int max) {
    if (id.length() > max) {
      return invalidField(field, "at most " + max + " characters");
    }
    return id.chars().anyMatch(Character::isISOControl) ? invalidField(field) : null;
  }

  /** True when id is a valid instance id (length and characters), as register and connect check it. */
  public static boolean isAcceptableInstanceId(String id) {
    return !id.isEmpty() && checkId("instance_id", id, MAX_INSTANCE_ID_LENGTH) == null;
  }

  private static Optional<JsonNode> parse(String text) {
    try (JsonParser parser = DataFrame.open(MAPPER.getFactory(), text)) {
      JsonNode node = MAPPER.readTree(parser);
      return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
    } catch (IOException e) { // JsonProcessingException: malformed; nothing else can fail reading a char[]
      return Optional.empty();
    }
  }

  /** The type string; a missing or empty type is missing_field, a type that is no string invalid_field. */
  private static String typeOf(JsonNode json) {
    String type = text(json, "type");
    if (type == null || type.isEmpty()) throw new Refusal(missing("type"));
    return type;
  }

  /**
   * The string field, null when absent or JSON null. Present with another JSON type (number, array,
   * object, boolean) it is invalid_field, never mistaken for absent: the README promises every field so.
   */
  private static String text(JsonNode json, String field) {
    JsonNode node = json.get(field);
    if (node == null || node.isNull()) return null;
    if (!node.isTextual()) throw new Refusal(invalidField(field));
    return node.asText();
  }

  /** Like {@link #text}, but absent, null or empty is missing_field. */
  private static String requiredText(JsonNode json, String field) {
    String value = text(json, field);
    if (value == null || value.isEmpty()) throw new Refusal(missing(field));
    return value;
  }

  /**
   * A field's error found deep in a helper, carried out to the decode entry point; stackless, since it
   * is an answer to bad input, not a fault.
   */
  private static final class Refusal extends RuntimeException {
    private final transient Decoded<?> decoded;

    Refusal(Decoded<?> decoded) {
      super(null, null, false, false);
      this.decoded = decoded;
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> Decoded<T> refusalOr(java.util.function.Supplier<Decoded<T>> decode) {
    try {
      return decode.get();
    } catch (Refusal refusal) {
      return (Decoded<T>) refusal.decoded;
    }
  }

  /** Optional.empty() when absent or null, null when present but not an array of strings. */
  private static Optional<List<String>> stringArray(JsonNode json, String field) {
    JsonNode node = json.get(field);
    if (node == null || node.isNull()) return Optional.empty();
    if (!node.isArray()) return null;
    List<String> values = new ArrayList<>(node.size());
    for (JsonNode element : node) {
      if (!element.isTextual()) return null;
      values.add(element.asText());
    }
    return Optional.of(List.copyOf(values));
  }

  private static <T> Decoded<T> ok(T frame) {
    return new Decoded.Ok<>(frame);
  }

  private static <T> Decoded<T> malformed() {
    return new Decoded.Invalid<>(Replies.refusal("invalid_json", "Malformed JSON: expected one JSON object"),
        "malformed JSON");
  }

  private static <T> Decoded<T> missing(String field) {
    return new Decoded.Invalid<>(Replies.refusal("missing_field", "Missing field: " + field), "missing " + field);
  }

  private static <T> Decoded<T> invalidField(String field) {
    return new Decoded.Invalid<>(Replies.refusal("invalid_field", "Invalid field: " + field), "invalid " + field);
  }

  /** invalid_field with the bound that was exceeded, e.g. "Invalid field: direct_urls (at most 8 URLs)". */
  private static <T> Decoded<T> invalidField(String field, String bound) {
    return new Decoded.Invalid<>(Replies.refusal("invalid_field", "Invalid field: " + field + " (" + bound + ")"),
        "invalid " + field + ": over the limit (" + bound + ")");
  }

  private static <T> Decoded<T> invalidBase64(String field) {
    return new Decoded.Invalid<>(Replies.refusal("invalid_base64", "Invalid base64 in " + field),
        "bad base64 in " + field);
  }

  private static <T> Decoded<T> unknownType(JsonNode json) {
    String type = typeOf(json);
    String shown = type.length() > MAX_ECHOED_TYPE_LENGTH ? type.substring(0, MAX_ECHOED_TYPE_LENGTH) + "…" : type;
    return new Decoded.Invalid<>(Replies.refusal("unknown_type", "Unknown message type: " + shown),
        "unknown type " + shown);
  }
}
