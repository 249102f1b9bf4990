package dev.conduit.tunnel;

import org.apache.pekko.util.ByteString;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.Json;
import java.time.Instant;
import java.util.List;

/** The JSON frames the relay sends, field for field as PROTOCOLS.md §1 shows them. */
public final class Replies {
  private Replies() {}

  // Error messages fixed by the existing protocol; clients match on them.
  static final String REGISTRATION_FAILED = "Registration failed";
  static final String NOT_REGISTERED = "Not registered";
  static final String INSTANCE_NOT_FOUND = "Instance not found";
  static final String INSTANCE_OFFLINE = "Instance is offline";
  static final String INVALID_CLAIM = "Invalid claim code";
  static final String CLAIM_USED = "Claim code has already been used";
  static final String CLAIM_EXPIRED = "Claim code has expired";

  /** relayProtocol: the version negotiated with this instance (1.1 once it proved possession of its key). */
  static String registered(String relayProtocol) {
    return write(object("registered").put("relay_protocol", relayProtocol));
  }

  static String pong() {
    return "{\"type\":\"pong\"}";
  }

  /** The relay's liveness probe of a registered instance, which answers pong. */
  static String ping() {
    return "{\"type\":\"ping\"}";
  }

  /** Relay protocol 1.1: prove possession of the registered key (see {@link PossessionProof}). */
  static String challenge(byte[] relayPublicKey, byte[] nonce) {
    return write(object("challenge").put("relay_public_key", java.util.Base64.getEncoder().encodeToString(relayPublicKey))
        .put("nonce", java.util.Base64.getEncoder().encodeToString(nonce)));
  }

  /**
   * An error frame (text, the complete JSON) with its {@code code}: a constant of ours, never peer input,
   * so it is a bounded metrics label; {@link #UNSPECIFIED} for the protocol's code-less errors. Carried
   * with refusals so that counting one never parses the frame again.
   */
  record ErrorFrame(String code, String text) {}

  /** The metrics label of an error frame the protocol sends without a code (e.g. "Registration failed"). */
  static final String UNSPECIFIED = "unspecified";

  /** To a live connection another one took over from, and to a registration of a connection already replaced. */
  static ErrorFrame replaced() {
    return refusal("replaced", "Replaced by a newer connection for this instance");
  }

  /** An unproven register for an id whose live connection still answers (or registered later). */
  static ErrorFrame alreadyConnected() {
    return refusal("already_connected",
        "Instance is connected on another socket that still answers; prove possession of its key (relay_protocol 1.1) to replace it");
  }

  static ErrorFrame proofRequired() {
    return refusal("proof_required", "Instance id has proven possession of its key before; offer relay_protocol 1.1 "
        + "in protocol_versions and prove it to register");
  }

  static ErrorFrame proofFailed() {
    return refusal("proof_failed", "Possession proof failed: mac does not prove the private key of public_key");
  }

  static String error(String message) {
    return write(object("error").put("message", message));
  }

  static String error(String code, String message) {
    return refusal(code, message).text();
  }

  /** The error frame {@code {"type":"error","code":code,"message":message}} with its code. */
  static ErrorFrame refusal(String code, String message) {
    return new ErrorFrame(code, write(object("error").put("code", code).put("message", message)));
  }

  static ErrorFrame registrationFailed() {
    return new ErrorFrame(UNSPECIFIED, error(REGISTRATION_FAILED));
  }

  static ErrorFrame versionIncompatible() {
    String code = "version_incompatible";
    ObjectNode node = object("error").put("code", code).put("message", "Relay protocol version mismatch");
    node.putArray("supported_versions").add(RelayVersion.CURRENT).add(RelayVersion.POSSESSION_PROOF);
    return new ErrorFrame(code, write(node));
  }

  static ErrorFrame frameTooLarge(int maxFrameBytes) {
    return refusal("frame_too_large", "Frame exceeds " + maxFrameBytes + " bytes");
  }

  /** Sent to every socket when the relay stops: reconnect now (to this relay once it is back, or another). */
  static String shuttingDown() {
    return error("shutting_down", "Relay is shutting down; reconnect");
  }

  static String instanceOffline() {
    return error("instance_offline", INSTANCE_OFFLINE);
  }

  static String connection(String sessionId, String clientPublicKey) {
    return write(object("connection").put("session_id", sessionId)
        .put("client_public_key", clientPublicKey == null ? "" : clientPublicKey));
  }

  static String sessionClosed(String sessionId, String reason) {
    return write(object("session_closed").put("session_id", sessionId).put("reason", reason));
  }

  static String claimCreated(String code, Instant expiresAt, JsonNode requestId) {
    ObjectNode node = object("claim_created").put("code", code).put("expires_at", expiresAt.toString());
    node.set("request_id", requestId);
    return write(node);
  }

  /** The connected frame; claimId and userId only on the claim path (null otherwise). */
  static String connected(String sessionId, InstanceInfo instance, String claimId, String userId) {
    ObjectNode node = object("connected")
        .put("session_id", sessionId)
        .put("instance_id", instance.instanceId())
        .put("public_key", instance.publicKey());
    ArrayNode urls = node.putArray("direct_urls");
    instance.directUrls().forEach(urls::add);
    node.put("relay_protocol", RelayVersion.CURRENT);
    node.set("instance_versions", instance.protocolVersions() == null
        ? TunnelCodec.MAPPER.createObjectNode() : instance.protocolVersions());
    if (claimId != null) {
      node.put("claim_id", claimId).put("user_id", userId);
    }
    return write(node);
  }

  // Hot path: payloads are validated base64 and ids are base64 or validated strings, so plain
  // concatenation yields valid JSON without a serializer pass over the payload.

  static String messageToClient(String payload) {
    return "{\"type\":\"message\",\"payload\":\"" + payload + "\"}";
  }

  private static final ByteString MESSAGE_PREFIX = ByteString.fromString("{\"type\":\"message\",\"payload\":\"");
  private static final ByteString END = ByteString.fromString("\"}");

  /** messageToClient spliced from bytes: the payload slice is not copied. */
  static ByteString messageToClient(ByteString payload) {
    return MESSAGE_PREFIX.concat(payload).concat(END);
  }

  /** What every relay_message to the instance for one session starts with (kept per session). */
  static ByteString relayMessagePrefix(String sessionId) {
    return ByteString.fromString("{\"type\":\"relay_message\",\"session_id\":\"" + sessionId + "\",\"payload\":\"");
  }

  /** relayMessageToInstance spliced from bytes: prefix from {@link #relayMessagePrefix}, payload not copied. */
  static ByteString relayMessageToInstance(ByteString prefix, ByteString payload) {
    return prefix.concat(payload).concat(END);
  }

  static String relayMessageToInstance(String sessionId, String payload) {
    return "{\"type\":\"relay_message\",\"session_id\":\"" + sessionId + "\",\"payload\":\"" + payload + "\"}";
  }

  /** What a client learns about the instance it connects to. */
  record InstanceInfo(String instanceId, String publicKey, List<String> directUrls, JsonNode protocolVersions) {}

  private static ObjectNode object(String type) {
    return TunnelCodec.MAPPER.createObjectNode().put("type", type);
  }

  private static String write(JsonNode node) {
    return Json.write(node);
  }
}
