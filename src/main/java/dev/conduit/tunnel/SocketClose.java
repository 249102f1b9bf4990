package dev.conduit.tunnel;

import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Why the relay closes a socket: the WebSocket close frame's status code and reason text. The reason
 * is the code of the error frame sent just before it (e.g. {@code replaced}), so a peer that only looks
 * at the close frame learns the same as one that reads the last frame.
 *
 * <p>An actor ends its socket by queueing its last error frame and then this marker (never sent as a
 * message: {@link WebSocketBridge} takes it off the stream, ends the outbound side there and puts the
 * status and reason into the close frame). When its queue is full (the peer does not read) it fails the
 * queue with {@link Failed} instead; the bridge then sends the last frame and the close frame as soon
 * as the peer reads again, within {@code close-timeout}.
 */
final class SocketClose extends TextMessage {
  /** RFC 6455 status codes. */
  static final int NORMAL = 1000;
  static final int GOING_AWAY = 1001;
  static final int POLICY_VIOLATION = 1008;

  /** Reasons for which the peer broke a rule (a limit or a timer), closed with 1008. */
  private static final Set<String> VIOLATIONS =
      Set.of("timeout", "idle_timeout", "slow_consumer", "not_reading", "too_many_connections");

  final int status;
  final String reason;

  private SocketClose(int status, String reason) {
    this.status = status;
    this.reason = reason;
  }

  /** The close for an error code: 1001 for shutting_down, 1008 for a broken limit or timer, else 1000. */
  static SocketClose of(String reason) {
    int status = "shutting_down".equals(reason) ? GOING_AWAY : VIOLATIONS.contains(reason) ? POLICY_VIOLATION : NORMAL;
    return new SocketClose(status, reason);
  }

  /**
   * Fails a socket's queue that has no room left: the frames still queued are dropped (the peer was not
   * reading them), lastFrame (may be null) and the close frame are sent.
   */
  static final class Failed extends RuntimeException {
    final String lastFrame;
    final SocketClose close;

    Failed(String lastFrame, SocketClose close) {
      super("socket closed: " + close.reason, null, false, false);
      this.lastFrame = lastFrame;
      this.close = close;
    }
  }

  @Override
  public String toString() {
    return "SocketClose(" + status + ", " + reason + ")";
  }

  // A marker, never rendered: the bridge removes it before pekko-http sees the stream.

  @Override
  public boolean isStrict() {
    return true;
  }

  @Override
  public String getStrictText() {
    return "";
  }

  @Override
  public Source<String, ?> getStreamedText() {
    return Source.empty();
  }

  @Override
  public org.apache.pekko.http.scaladsl.model.ws.TextMessage asScala() {
    throw new UnsupportedOperationException("a close marker is not a message");
  }

  @Override
  public CompletionStage<org.apache.pekko.http.scaladsl.model.ws.TextMessage.Strict> toStrict(long timeoutMillis,
                                                                                             Materializer materializer) {
    throw new UnsupportedOperationException("a close marker is not a message");
  }
}
