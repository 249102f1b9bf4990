package dev.conduit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The baseline's far end as seen from the load generator: frames sent to {@link DirectWebSocketServer}'s
 * /sink count as delivered once a {@code ping} sent behind them has come back as {@code pong}
 * (WebSocket keeps order, and the sink reads every frame whole before the ping).
 */
final class DirectSink implements AutoCloseable {
  private static final String PING = "{\"type\":\"ping\"}";
  private final WsPeer socket;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final java.util.concurrent.ConcurrentLinkedQueue<Long> pendingPings =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private DirectSink(WsPeer socket) {
    this.socket = socket;
  }

  static DirectSink open(HttpClient http, URI uri) throws Exception {
    DirectSink[] holder = new DirectSink[1];
    WsPeer socket = WsPeer.open(http, uri, text -> holder[0].onPong()).get(30, TimeUnit.SECONDS);
    holder[0] = new DirectSink(socket);
    return holder[0];
  }

  CompletableFuture<?> send(String frame) {
    sent.incrementAndGet();
    return socket.send(frame);
  }

  /** Frames known to have been read by the sink; asks for confirmation of the ones sent since. */
  long received() {
    long upTo = sent.get();
    if (delivered.get() < upTo && pendingPings.isEmpty()) {
      pendingPings.add(upTo);
      socket.send(PING);
    }
    return delivered.get();
  }

  private void onPong() {
    Long upTo = pendingPings.poll();
    if (upTo != null) {
      delivered.set(upTo);
    }
  }

  @Override
  public void close() {
    socket.close();
  }
}
