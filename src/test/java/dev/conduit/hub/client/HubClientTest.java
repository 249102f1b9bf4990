package dev.conduit.hub.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.WebhookEnvelope;
import java.io.IOException;
import java.io.InputStream;
import org.apache.pekko.Done;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hub client against a real in-test gRPC edge (h2c) and a real local HTTP destination. */
class HubClientTest {
  private static final String HUB = "home-1";
  private static final String SECRET = "correct horse battery staple";
  private static final Duration AWAIT = Duration.ofSeconds(15);
  private static final Duration POLL = Duration.ofMillis(10);

  private static ActorSystem<Void> system;
  private static Destination destination;

  @TempDir
  Path dir;
  private Path secretFile;
  private FakeEdge edge;
  private RunningHubClient client;

  @BeforeAll
  static void startSystem() throws Exception {
    Config config = ConfigFactory.parseString("pekko.http.server.enable-http2 = on").withFallback(ConfigFactory.load());
    system = ActorSystem.create(Behaviors.empty(), "hub-client-test", config);
    destination = new Destination();
  }

  @AfterAll
  static void stopSystem() {
    destination.close();
    system.terminate();
  }

  @BeforeEach
  void writeSecret() throws Exception {
    secretFile = dir.resolve("secret");
    writeSecret(SECRET + "\n"); // trailing newline: the client trims
  }

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void deliversBodyAndOriginalHeadersAndAcksSuccess() throws Exception {
    startConnected(true, Map.of());
    byte[] body = "{\"event\":\"payment.succeeded\",\"amount\":4200}".getBytes(UTF_8);
    edge.push(envelope("wh-happy", "ep-1", "/happy", body).toBuilder()
        .putHeaders("Content-Type", "application/json")
        .putHeaders("X-Hub-Signature-256", "sha256=abc123")
        .putHeaders("Stripe-Signature", "t=1,v1=deadbeef")
        // Not forwardable: hop-by-hop or set by the HTTP client itself.
        .putHeaders("Connection", "close")
        .putHeaders("Host", "edge.example.com")
        .putHeaders("Content-Length", "999")
        .build());

    DeliveryAck ack = awaitAck("wh-happy");
    assertTrue(ack.getSuccess());
    assertEquals(200, ack.getStatusCode());
    assertFalse(ack.getPermanentFailure());
    List<Destination.Received> hits = destination.at("/happy");
    assertEquals(1, hits.size());
    Destination.Received hit = hits.get(0);
    assertArrayEquals(body, hit.body());
    assertEquals("application/json", hit.header("Content-Type"));
    assertEquals("sha256=abc123", hit.header("X-Hub-Signature-256"));
    assertEquals("t=1,v1=deadbeef", hit.header("Stripe-Signature"));
    assertEquals(String.valueOf(body.length), hit.header("Content-Length"));
    assertTrue(hit.header("Host").startsWith("127.0.0.1:"), hit.header("Host"));
    assertEquals(1, client.stats().delivered());
  }

  @Test
  void classifiesFailures() throws Exception {
    startConnected(true, Map.of());
    String closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = "http://127.0.0.1:" + socket.getLocalPort() + "/down";
    }
    edge.push(envelope("wh-500", "ep-a", "/status/500", "a".getBytes(UTF_8)));
    edge.push(envelope("wh-404", "ep-b", "/status/404", "b".getBytes(UTF_8)));
    edge.push(envelope("wh-down", "ep-c", "/ignored", "c".getBytes(UTF_8)).toBuilder()
        .setDestinationUrl(closedPort).build());
    edge.push(envelope("wh-bad-url", "ep-d", "/ignored", "d".getBytes(UTF_8)).toBuilder()
        .setDestinationUrl("ftp://127.0.0.1/x").build());
    edge.push(envelope("wh-user-info", "ep-e", "/ignored", "e".getBytes(UTF_8)).toBuilder()
        .setDestinationUrl(destination.url("/user-info").replace("http://", "http://user:pw@")).build());

    DeliveryAck serverError = awaitAck("wh-500");
    assertFalse(serverError.getSuccess());
    assertFalse(serverError.getPermanentFailure());
    assertEquals(500, serverError.getStatusCode());

    DeliveryAck notFound = awaitAck("wh-404");
    assertFalse(notFound.getSuccess());
    assertTrue(notFound.getPermanentFailure());
    assertEquals(404, notFound.getStatusCode());

    DeliveryAck down = awaitAck("wh-down");
    assertFalse(down.getSuccess());
    assertFalse(down.getPermanentFailure());
    assertEquals(0, down.getStatusCode());
    assertFalse(down.getErrorMessage().isBlank());

    DeliveryAck badUrl = awaitAck("wh-bad-url");
    assertFalse(badUrl.getSuccess());
    assertTrue(badUrl.getPermanentFailure());

    DeliveryAck userInfo = awaitAck("wh-user-info");
    assertFalse(userInfo.getSuccess());
    assertTrue(userInfo.getPermanentFailure());
    assertTrue(userInfo.getErrorMessage().startsWith("invalid destination: user info (user:password@) in the URL "
        + "is not supported"), userInfo.getErrorMessage());
    assertEquals(List.of(), destination.at("/user-info"));
    assertEquals(5, client.stats().failed());
  }

  /** A destination that accepts the connection and never answers: a retryable "timed out" ack, no hang. */
  @Test
  void aSilentDestinationTimesOut() throws Exception {
    startConnected(true, Map.of("request-timeout", "300ms"));
    try (ServerSocket silent = new ServerSocket(0)) { // the backlog accepts the connection; nothing answers
      edge.push(envelope("wh-silent", "ep-1", "/ignored", "s".getBytes(UTF_8)).toBuilder()
          .setDestinationUrl("http://127.0.0.1:" + silent.getLocalPort() + "/silent").build());
      DeliveryAck ack = awaitAck("wh-silent");
      assertFalse(ack.getSuccess());
      assertFalse(ack.getPermanentFailure());
      assertEquals(0, ack.getStatusCode());
      assertTrue(ack.getErrorMessage().startsWith("timed out after 300 ms"), ack.getErrorMessage());
    }
  }

  /**
   * The destination answers 200 and then stalls in the middle of its response body: the ack is the 200,
   * not a timeout (which would make the edge deliver the webhook again).
   */
  @Test
  void aStalledResponseBodyDoesNotUndoA200() throws Exception {
    startConnected(true, Map.of()); // request-timeout 5s: the body stalls longer than that
    try (ServerSocket server = new ServerSocket(0)) {
      Thread stalling = new Thread(() -> {
        try (Socket socket = server.accept()) {
          InputStream in = socket.getInputStream();
          for (int matched = 0; matched < 4; ) { // read up to the end of the request head
            int b = in.read();
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : b == '\r' ? 1 : 0;
          }
          socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart".getBytes(UTF_8));
          socket.getOutputStream().flush();
          while (in.read() >= 0) {
            // hold the connection, the body never completes
          }
        } catch (IOException e) {
          // closed at the end of the test
        }
      }, "stalling-destination");
      stalling.setDaemon(true);
      stalling.start();
      edge.push(envelope("wh-stalled", "ep-1", "/ignored", "s".getBytes(UTF_8)).toBuilder()
          .setDestinationUrl("http://127.0.0.1:" + server.getLocalPort() + "/stalled").build());
      DeliveryAck ack = awaitAck("wh-stalled");
      assertTrue(ack.getSuccess(), ack.toString());
      assertEquals(200, ack.getStatusCode());
    }
  }

  @Test
  void duplicateAfterSuccessIsAckedWithoutSecondPost() throws Exception {
    startConnected(true, Map.of());
    WebhookEnvelope envelope = envelope("wh-dup", "ep-1", "/dup", "once".getBytes(UTF_8));
    edge.push(envelope);
    awaitAck("wh-dup");
    edge.push(envelope.toBuilder().setAttempt(2).build());

    await("second ack of wh-dup", () -> edge.acksFor("wh-dup").size() == 2);
    edge.acksFor("wh-dup").forEach(ack -> {
      assertTrue(ack.getSuccess());
      assertEquals(200, ack.getStatusCode());
    });
    assertEquals(1, destination.at("/dup").size());
    assertEquals(1, client.stats().duplicatesSkipped());
  }

  @Test
  void preservesOrderPerEndpoint() throws Exception {
    startConnected(true, Map.of());
    int count = 50;
    for (int i = 0; i < count; i++) {
      // Two endpoints interleaved: each must keep its own order, and they may run side by side.
      edge.push(envelope("wh-a-" + i, "ep-a", "/order/a", ("a-" + i).getBytes(UTF_8)));
      edge.push(envelope("wh-b-" + i, "ep-b", "/order/b", ("b-" + i).getBytes(UTF_8)));
    }
    await("all acks", () -> edge.acks.size() == 2 * count);
    assertTrue(edge.acks.stream().allMatch(DeliveryAck::getSuccess));
    for (String name : List.of("a", "b")) {
      List<String> expected = IntStream.range(0, count).mapToObj(i -> name + "-" + i).toList();
      List<String> actual = destination.at("/order/" + name).stream().map(r -> new String(r.body(), UTF_8)).toList();
      assertEquals(expected, actual);
    }
  }

  @Test
  void retriesRefusedConnectUntilSecretIsFixed() throws Exception {
    writeSecret("wrong secret");
    startEdgeAndClient(true, Map.of());
    await("two refused connects", () -> edge.rejections.size() >= 2);
    assertEquals(0, edge.accepted.get());
    assertEquals(0, client.stats().connects());

    writeSecret(SECRET);
    await("accepted connect", () -> edge.accepted.get() == 1);
    edge.push(envelope("wh-after-fix", "ep-1", "/after-fix", "x".getBytes(UTF_8)));
    assertTrue(awaitAck("wh-after-fix").getSuccess());
    assertTrue(client.stats().connectAttempts() >= 3, client.stats().toString());
  }

  @Test
  void reconnectsWhenEdgeClosesStream() throws Exception {
    startConnected(true, Map.of());
    edge.push(envelope("wh-before", "ep-1", "/before", "1".getBytes(UTF_8)));
    assertTrue(awaitAck("wh-before").getSuccess());

    edge.closeCurrentStream();
    await("second accepted connect", () -> edge.accepted.get() == 2);
    edge.push(envelope("wh-after", "ep-1", "/after", "2".getBytes(UTF_8)));
    assertTrue(awaitAck("wh-after").getSuccess());
    await("client counted both connects", () -> client.stats().connects() == 2);
  }

  @Test
  void sendsHeartbeats() throws Exception {
    startEdgeAndClient(true, Map.of("heartbeat-interval", "200ms"));
    await("three heartbeats", () -> edge.heartbeats.get() >= 3);
    assertEquals(1, edge.accepted.get());
  }

  @Test
  void replacesStaleStream() throws Exception {
    // The edge never speaks after accepting; the client must give up on the stream and connect again.
    startEdgeAndClient(false, Map.of("stale-timeout", "500ms"));
    await("reconnect after staleness", () -> edge.accepted.get() >= 2);
    edge.push(envelope("wh-stale", "ep-1", "/stale", "s".getBytes(UTF_8)));
    assertTrue(awaitAck("wh-stale").getSuccess());
  }

  private void startConnected(boolean echoHeartbeats, Map<String, String> settings) throws Exception {
    startEdgeAndClient(echoHeartbeats, settings);
    await("accepted connect", () -> edge.accepted.get() == 1);
  }

  /**
   * The report: on SIGTERM the hub client logged ERROR ClosedSelectorException and reset the stream. Stopping
   * (what the shutdown hook now does) lets the POST in flight finish and be acknowledged, ends the stream
   * with END_STREAM, and logs nothing at ERROR.
   */
  @Test
  void stoppingFinishesThePostInFlightAndEndsTheStreamCleanly() throws Exception {
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        org.slf4j.Logger.ROOT_LOGGER_NAME);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
        new ch.qos.logback.core.read.ListAppender<>();
    // Appended to by the client's threads while the test reads it: a list whose iteration is a snapshot
    // (ListAppender's own ArrayList threw ConcurrentModificationException once in CI).
    logged.list = new java.util.concurrent.CopyOnWriteArrayList<>();
    logged.start();
    root.addAppender(logged);
    java.util.concurrent.CountDownLatch received = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
    try (ServerSocket server = new ServerSocket(0)) {
      Thread slow = new Thread(() -> {
        try (Socket socket = server.accept()) {
          InputStream in = socket.getInputStream();
          for (int matched = 0; matched < 4; ) { // read up to the end of the request head
            int b = in.read();
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : b == '\r' ? 1 : 0;
          }
          received.countDown();
          answer.await();
          socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(UTF_8));
          socket.getOutputStream().flush();
          while (in.read() >= 0) {
            // until the client closes
          }
        } catch (IOException | InterruptedException e) {
          // closed at the end of the test
        }
      }, "slow-destination");
      slow.setDaemon(true);
      slow.start();
      startConnected(true, Map.of());
      edge.push(envelope("wh-in-flight", "ep-1", "/ignored", "s".getBytes(UTF_8)).toBuilder()
          .setDestinationUrl("http://127.0.0.1:" + server.getLocalPort() + "/slow").build());
      assertTrue(received.await(AWAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS), "POST not received");

      java.util.concurrent.CompletableFuture<Done> stopped = client.stop().toCompletableFuture();
      await("the client is stopping", () -> logged.list.stream()
          .anyMatch(e -> e.getFormattedMessage().startsWith("hub client stopping")));
      answer.countDown();
      stopped.get(AWAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);

      DeliveryAck ack = awaitAck("wh-in-flight");
      assertTrue(ack.getSuccess(), ack.toString());
      await("the request stream ended", () -> !edge.requestStreamEnds.isEmpty());
      assertEquals(List.of("completed"), edge.requestStreamEnds, "ended with END_STREAM, not a reset");
      // The poster's I/O threads have stopped (GRACEFUL close): an ERROR would be logged by now.
      client = null;
    } finally {
      root.detachAppender(logged);
    }
    List<String> errors = logged.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.ERROR))
        .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage() + " " + e.getThrowableProxy()).toList();
    assertEquals(List.of(), errors);
  }

  /**
   * The report: --edge pointed at the relay's HTTP port (HTTP/1.1 only) instead of its gRPC port logged
   * "INTERNAL: http2 exception". The reason now says what is wrong. And each failed connect is one log line
   * with its backoff delay (it was two: "hub connect failed" then "hub reconnect scheduled").
   */
  @Test
  void pointedAtAnHttp1PortItSaysToUseTheGrpcPort() throws Exception {
    ch.qos.logback.classic.Logger clientLogger =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(HubClient.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
        new ch.qos.logback.core.read.ListAppender<>();
    logged.list = new java.util.concurrent.CopyOnWriteArrayList<>(); // appended by other threads while read
    logged.start();
    clientLogger.addAppender(logged);
    org.apache.pekko.http.javadsl.ServerBinding http1 = org.apache.pekko.http.javadsl.Http.get(system)
        .newServerAt("127.0.0.1", 0)
        .adaptSettings(s -> s.withEnableHttp2(false))
        .bind((org.apache.pekko.japi.function.Function<org.apache.pekko.http.javadsl.model.HttpRequest,
            java.util.concurrent.CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse>>) request ->
            java.util.concurrent.CompletableFuture.completedFuture(
                org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(404)))
        .toCompletableFuture().get(AWAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    try {
      Map<String, String> config = new HashMap<>();
      Map.of("edge-url", "http://127.0.0.1:" + http1.localAddress().getPort(), "hub-id", HUB,
              "secret-file", secretFile.toString(), "backoff-min", "50ms", "backoff-max", "200ms")
          .forEach((k, v) -> config.put(HubClientSettings.PATH + "." + k, v));
      client = HubClient.start(system,
          HubClientSettings.from(ConfigFactory.parseMap(config).withFallback(ConfigFactory.load())));
      await("a failed connect", () -> client.stats().lastStreamEnd() != null);
      String reason = client.stats().lastStreamEnd();
      assertTrue(reason.startsWith("StatusRuntimeException: INTERNAL: http2 exception: the edge at 127.0.0.1:"
          + http1.localAddress().getPort() + " answered in HTTP/1.1, so it is not a gRPC (HTTP/2) port; point --edge at"
          + " the relay's gRPC port (conduit.hub.grpc-port"), reason);
      await("two failed connects logged", () -> logged.list.stream()
          .filter(e -> e.getFormattedMessage().startsWith("hub connect failed")).count() >= 2);
      List<String> lines = logged.list.stream().map(e -> e.getFormattedMessage()).toList();
      assertTrue(lines.stream().noneMatch(line -> line.startsWith("hub reconnect scheduled")), lines.toString());
      assertTrue(lines.stream().filter(line -> line.startsWith("hub connect failed"))
          .allMatch(line -> line.matches("(?s)hub connect failed edge=\\S+ reason=.* reconnect_in_ms=\\d+")), lines.toString());
    } finally {
      clientLogger.detachAppender(logged);
      http1.unbind();
    }
  }

  private void startEdgeAndClient(boolean echoHeartbeats, Map<String, String> settings) throws Exception {
    edge = new FakeEdge(system, HUB, SECRET, echoHeartbeats);
    Map<String, String> values = new HashMap<>(Map.of(
        "edge-url", edge.url(),
        "hub-id", HUB,
        "secret-file", secretFile.toString(),
        "backoff-min", "50ms",
        "backoff-max", "200ms",
        "request-timeout", "5s"));
    values.putAll(settings);
    Map<String, String> config = new HashMap<>();
    values.forEach((k, v) -> config.put(HubClientSettings.PATH + "." + k, v));
    client = HubClient.start(system,
        HubClientSettings.from(ConfigFactory.parseMap(config).withFallback(ConfigFactory.load())));
  }

  private void writeSecret(String secret) throws Exception {
    Path tmp = dir.resolve("secret.tmp");
    Files.writeString(tmp, secret, UTF_8);
    Files.move(tmp, secretFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private WebhookEnvelope envelope(String id, String endpointId, String path, byte[] body) {
    return WebhookEnvelope.newBuilder()
        .setId(id)
        .setEndpointId(endpointId)
        .setDestinationUrl(destination.url(path))
        .setPayload(ByteString.copyFrom(body))
        .setAttempt(1)
        .build();
  }

  private DeliveryAck awaitAck(String webhookId) throws InterruptedException {
    await("ack of " + webhookId, () -> !edge.acksFor(webhookId).isEmpty());
    return edge.acksFor(webhookId).get(0);
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + AWAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for " + what);
      }
      Thread.sleep(POLL.toMillis());
    }
  }
}
