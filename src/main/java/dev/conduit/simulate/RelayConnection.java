package dev.conduit.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plain JDK WebSocket client speaking relay protocol 1.0: send JSON frames, receive them in order.
 * Independent of the server's code, so the simulator and the tests exercise the relay as a real peer.
 */
public final class RelayConnection implements AutoCloseable {
  private final WebSocket socket;
  private final Listener listener;
  private final BlockingQueue<String> received;
  private final CompletableFuture<CloseFrame> closed;

  /** How the relay closed the socket: its close frame's status and reason (1006 and "" when it dropped). */
  public record CloseFrame(int status, String reason) {}

  private RelayConnection(WebSocket socket, Listener listener, BlockingQueue<String> received,
                          CompletableFuture<CloseFrame> closed) {
    this.socket = socket;
    this.listener = listener;
    this.received = received;
    this.closed = closed;
  }

  /** Opens a WebSocket to uri (e.g. ws://127.0.0.1:8080/relay/client/websocket). */
  public static RelayConnection open(HttpClient http, URI uri, Duration timeout) throws Exception {
    BlockingQueue<String> received = new LinkedBlockingQueue<>();
    CompletableFuture<CloseFrame> closed = new CompletableFuture<>();
    Listener listener = new Listener(received, closed);
    WebSocket socket = http.newWebSocketBuilder().connectTimeout(timeout)
        .buildAsync(uri, listener).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    return new RelayConnection(socket, listener, received, closed);
  }

  public static RelayConnection open(URI uri, Duration timeout) throws Exception {
    return open(HttpClient.newHttpClient(), uri, timeout);
  }

  /** Sends one text frame and waits until it is handed to the socket (sends must not overlap). */
  public synchronized void send(String text) throws IOException {
    try {
      socket.sendText(text, true).get();
    } catch (Exception e) {
      throw new IOException("send failed: " + e.getMessage(), e);
    }
  }

  public void send(JsonNode frame) throws IOException {
    send(Json.write(frame));
  }

  /** Sends a binary frame (the protocol accepts JSON in binary frames too). */
  public synchronized void sendBinary(byte[] data) throws IOException {
    try {
      socket.sendBinary(ByteBuffer.wrap(data), true).get();
    } catch (Exception e) {
      throw new IOException("send failed: " + e.getMessage(), e);
    }
  }

  /** The next frame as JSON, or null when none arrives within timeout. */
  public JsonNode receive(Duration timeout) throws Exception {
    String text = receiveText(timeout);
    return text == null ? null : Json.MAPPER.readTree(text);
  }

  public String receiveText(Duration timeout) throws InterruptedException {
    return received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The next frame, which must arrive within timeout and have the given type. */
  public JsonNode expect(String type, Duration timeout) throws Exception {
    JsonNode frame = receive(timeout);
    if (frame == null) {
      throw new IllegalStateException("no frame within " + timeout + " (expected " + type + ")");
    }
    if (!type.equals(frame.path("type").asText())) {
      throw new IllegalStateException("expected " + type + " but got " + frame);
    }
    return frame;
  }

  /**
   * Stops reading from the socket (for slow-consumer tests): frames then pile up in TCP buffers and,
   * behind them, in the relay.
   */
  public void pauseReading() {
    listener.paused = true;
  }

  /** Reads again after {@link #pauseReading()}. */
  public void resumeReading() {
    listener.paused = false;
    socket.request(1);
  }

  /** Completes with the close status code when the relay closes the socket (or it drops: 1006). */
  public CompletionStage<Integer> closed() {
    return closed.thenApply(CloseFrame::status);
  }

  /** Completes with the relay's close frame when it closes the socket (1006 when it drops). */
  public CompletionStage<CloseFrame> closeFrame() {
    return closed;
  }

  public boolean isClosed() {
    return closed.isDone();
  }

  public static ObjectNode frame(String type) {
    return Json.MAPPER.createObjectNode().put("type", type);
  }

  @Override
  public void close() {
    if (!socket.isOutputClosed()) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
    }
    socket.abort();
  }

  private static final class Listener implements WebSocket.Listener {
    private static final int ABNORMAL_CLOSURE = 1006;
    private final BlockingQueue<String> received;
    private final CompletableFuture<CloseFrame> closed;
    private StringBuilder partial = new StringBuilder();
    private volatile boolean paused;

    Listener(BlockingQueue<String> received, CompletableFuture<CloseFrame> closed) {
      this.received = received;
      this.closed = closed;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        received.add(partial.toString());
        partial = new StringBuilder();
      }
      if (!paused) {
        webSocket.request(1);
      }
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closed.complete(new CloseFrame(statusCode, reason));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closed.complete(new CloseFrame(ABNORMAL_CLOSURE, ""));
    }
  }
}
