package dev.conduit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * A load-generating WebSocket peer on the JDK client (not Conduit's code): whole text messages go to
 * a callback on the client's thread; sends are chained so they never overlap.
 */
final class WsPeer implements AutoCloseable {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
  private final WebSocket socket;
  private CompletableFuture<?> lastSend = CompletableFuture.completedFuture(null);

  private WsPeer(WebSocket socket) {
    this.socket = socket;
  }

  static CompletableFuture<WsPeer> open(HttpClient http, URI uri, Consumer<String> onMessage) {
    return http.newWebSocketBuilder().connectTimeout(CONNECT_TIMEOUT)
        .buildAsync(uri, new Listener(onMessage)).thenApply(WsPeer::new);
  }

  /** Several JDK clients, each with its own selector thread, to spread many sockets over. */
  static java.util.List<HttpClient> clients(int count) {
    return java.util.stream.Stream.generate(HttpClient::newHttpClient).limit(count).toList();
  }

  /** Queues a text frame behind earlier ones; completes when it was handed to the socket. */
  synchronized CompletableFuture<?> send(String text) {
    lastSend = lastSend.thenCompose(ignored -> socket.sendText(text, true));
    return lastSend;
  }

  @Override
  public void close() {
    socket.abort();
  }

  private static final class Listener implements WebSocket.Listener {
    private final Consumer<String> onMessage;
    private StringBuilder partial;

    Listener(Consumer<String> onMessage) {
      this.onMessage = onMessage;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      if (last && partial == null) {
        onMessage.accept(data.toString());
      } else {
        if (partial == null) {
          partial = new StringBuilder();
        }
        partial.append(data);
        if (last) {
          onMessage.accept(partial.toString());
          partial = null;
        }
      }
      webSocket.request(1);
      return null;
    }
  }
}
