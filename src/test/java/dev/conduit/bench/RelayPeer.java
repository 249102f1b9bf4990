package dev.conduit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.UUID;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * An instance or client speaking relay protocol 1.0 for the benchmarks: a {@link WsPeer} whose first
 * reply (registered / connected) completes the handshake and whose later frames go to a handler that
 * the benchmark sets once the peer is set up.
 */
final class RelayPeer implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Instances ping every 30 s, as the protocol's existing instances do (PROTOCOLS.md §1). */
  static final Duration INSTANCE_PING_INTERVAL = Duration.ofSeconds(30);
  private static final String PING = "{\"type\":\"ping\"}";
  private static final ScheduledExecutorService HEARTBEATS = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "instance-heartbeats");
    thread.setDaemon(true);
    return thread;
  });
  private final AtomicReference<Consumer<String>> handler = new AtomicReference<>();
  private final CompletableFuture<String> handshake = new CompletableFuture<>();
  private volatile WsPeer socket;
  private volatile ScheduledFuture<?> heartbeat;

  /** Opens an instance socket and registers a fresh id and key; completes on {@code registered}. */
  static CompletableFuture<RelayPeer> instance(HttpClient http, URI base, String instanceId) {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    String register = "{\"type\":\"register\",\"instance_id\":\"" + instanceId + "\",\"public_key\":\""
        + Base64.getEncoder().encodeToString(key) + "\"}";
    return open(http, base.resolve("/relay/tunnel/websocket"), register, "registered").thenApply(peer -> {
      // A random phase spreads many instances' pings over the interval, as independent instances would.
      long phase = (long) (RANDOM.nextDouble() * INSTANCE_PING_INTERVAL.toMillis());
      peer.heartbeat = HEARTBEATS.scheduleAtFixedRate(() -> peer.send(PING), phase,
          INSTANCE_PING_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
      return peer;
    });
  }

  static String newInstanceId() {
    return UUID.randomUUID().toString();
  }

  /** Opens a client socket and connects to the instance; completes on {@code connected}. */
  static CompletableFuture<RelayPeer> client(HttpClient http, URI base, String instanceId) {
    String connect = "{\"type\":\"connect\",\"instance_id\":\"" + instanceId + "\"}";
    return open(http, base.resolve("/relay/client/websocket"), connect, "connected");
  }

  private static CompletableFuture<RelayPeer> open(HttpClient http, URI uri, String hello, String expected) {
    RelayPeer peer = new RelayPeer();
    return WsPeer.open(http, uri, peer::onMessage).thenCompose(socket -> {
      peer.socket = socket;
      socket.send(hello);
      return peer.handshake;
    }).thenApply(reply -> {
      if (!reply.contains("\"type\":\"" + expected + "\"")) {
        throw new IllegalStateException("expected " + expected + ", got " + reply);
      }
      return peer;
    });
  }

  private void onMessage(String text) {
    Consumer<String> current = handler.get();
    if (current != null) {
      current.accept(text);
    } else if (!handshake.complete(text) && !text.contains("\"type\":\"connection\"")) {
      throw new IllegalStateException("frame before a handler was set: " + text);
    }
  }

  /** Where every later frame goes (called on the WebSocket client's thread). */
  void onFrame(Consumer<String> frames) {
    handler.set(frames);
  }

  CompletableFuture<?> send(String text) {
    return socket.send(text);
  }

  @Override
  public void close() {
    if (heartbeat != null) {
      heartbeat.cancel(false);
    }
    if (socket != null) {
      socket.close();
    }
  }
}
