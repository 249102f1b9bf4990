package dev.conduit.tunnel;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** What an instance sends the relay (PROTOCOLS.md §1, "Instance → relay"), decoded by {@link TunnelCodec}. */
public sealed interface InstanceFrame {

  /** protocolVersions is the instance's object as sent (null when absent), echoed to clients. */
  record Register(String instanceId, byte[] publicKey, String publicKeyBase64, List<String> directUrls,
                  JsonNode protocolVersions) implements InstanceFrame {}

  record Ping() implements InstanceFrame {}

  /** Relay protocol 1.1: the answer to a challenge, mac decoded (32 bytes). */
  record Prove(byte[] mac) implements InstanceFrame {}

  record Pong() implements InstanceFrame {}

  record UpdateUrls(List<String> directUrls) implements InstanceFrame {}

  /** payload stays base64: the relay forwards it without decoding. */
  record RelayMessage(String sessionId, String payload) implements InstanceFrame {}

  /** ttlSeconds is null when absent; requestId is echoed as given (any JSON value, null when absent). */
  record CreateClaim(String userId, Long ttlSeconds, JsonNode requestId) implements InstanceFrame {}
}
