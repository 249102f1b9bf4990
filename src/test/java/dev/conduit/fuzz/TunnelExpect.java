package dev.conduit.fuzz;

/** What the relay must answer to one generated tunnel frame. */
sealed interface TunnelExpect {
  /** One error frame with this code and a non-empty message. */
  record Error(String code) implements TunnelExpect {}

  /** Exactly this frame (the protocol's fixed errors without a code, e.g. Registration failed). */
  record Exact(String json) implements TunnelExpect {}

  /** A well-formed ping after all: one pong. */
  record Pong() implements TunnelExpect {}

  /** A well-formed instance pong: no answer (the protocol says none). */
  record Nothing() implements TunnelExpect {}

  /** A frame of a known type whose outcome depends on its values: exactly one answer, never silence. */
  record AnyReply() implements TunnelExpect {}

  /** A well-formed client close: the relay closes the socket. */
  record Closed() implements TunnelExpect {}

  /** Cases that may change the socket's state run on a socket of their own. */
  default boolean needsFreshSocket() {
    return this instanceof AnyReply || this instanceof Closed;
  }
}
