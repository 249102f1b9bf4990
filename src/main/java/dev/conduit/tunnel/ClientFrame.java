package dev.conduit.tunnel;

/** What a client sends the relay (PROTOCOLS.md §1, "Client → relay"), decoded by {@link TunnelCodec}. */
public sealed interface ClientFrame {

  /** Exactly one of instanceId and claimCode is set (instanceId wins when both were sent). */
  record Connect(String instanceId, String claimCode, String clientPublicKey) implements ClientFrame {}

  /** payload stays base64: the relay forwards it without decoding. */
  record Message(String payload) implements ClientFrame {}

  record Ping() implements ClientFrame {}

  record Close() implements ClientFrame {}
}
