package dev.conduit.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestHub;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.stream.Stream;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * A real relay in a child JVM, its stdout (the shipped logback.xml) captured: values with CR/LF sent
 * where they get logged, without authentication (a tunnel frame's type, a gRPC hub_id) and with it
 * (an endpoint name, an ACK id), never start a log line of their own and appear escaped; an admin
 * token containing '!', '#' and '?' (which pekko-http cannot parse) never reaches the log. And an
 * exception whose message (or its cause's, or a suppressed one's) carries CR/LF or terminal escapes,
 * rendered by every appender of every shipped logback*.xml, starts no line of its own either.
 */
class LogForgingTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String TOKEN = "tok!#?en-s3cret";
  private static final String FORGED = "FORGED INFO line";

  @Test
  void peerValuesCannotForgeLogLinesAndTheAdminTokenIsNeverLogged() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         ChildServer server = ChildServer.start(db, Map.of("CONDUIT_ADMIN_TOKEN", TOKEN, "CONDUIT_HUBS", "home:s3cret"))) {
      // A tunnel frame's type (no authentication): unknown_type, logged with the type.
      WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder()
          .buildAsync(server.wsBase().resolve("/relay/tunnel"), new WebSocket.Listener() {}).get(30, TimeUnit.SECONDS);
      socket.sendText("{\"type\":\"x\\n" + FORGED + " type\"}", true).get(30, TimeUnit.SECONDS);
      // A gRPC hub_id (no authentication): refused as unknown, logged with the id.
      try (TestHub stranger = TestHub.connect(server.grpcPort(), "x\n" + FORGED + " hub", "nope")) {
        assertFalse(stranger.awaitConnectResponse(TIMEOUT).getSuccess());
      }
      // An ACK id of an authenticated hub: logged as unknown.
      try (TestHub hub = TestHub.connect(server.grpcPort(), "home", "s3cret")) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        hub.send(StreamRequest.newBuilder().setAck(DeliveryAck.newBuilder().setWebhookId("w\n" + FORGED + " ack")
            .setSuccess(true)).build());
        // An endpoint name (admin): logged when created. Its answer comes after the ack was read.
        EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
        EdgeApi.Response created = api.admin("POST", "/api/endpoints", "{\"name\":\"n\\r\\n" + FORGED
            + " name\",\"provider\":\"generic\",\"secret\":\"s\",\"destination_url\":\"http://127.0.0.1:9/\",\"hub_id\":\"home\"}");
        assertEquals(201, created.status(), created.body());
      }
      String escapedLf = "\\n" + FORGED;
      for (String where : List.of("type", "hub", "ack", "name")) {
        String log = awaitLog(server, text -> text.contains(escapedLf + " " + where));
        assertTrue(log.contains(escapedLf + " " + where), where + " escaped in:\n" + log);
      }
      String log = Files.readString(server.log());
      assertTrue(log.contains("\\r\\n" + FORGED + " name"), log);
      for (String line : log.split("\n", -1)) {
        assertFalse(line.startsWith(FORGED), "forged line: " + line);
        assertFalse(line.contains("\r"), "carriage return in: " + line);
      }
      assertFalse(log.contains("tok!#?en"), "admin token in the log:\n" + log);
      assertFalse(log.contains("s3cret"), "secret in the log:\n" + log);
      socket.abort();
    }
  }

  @Test
  void exceptionTextCannotForgeLogLinesInAnyShippedPattern() throws Exception {
    List<Path> configs = shippedLogbackConfigs();
    assertFalse(configs.isEmpty(), "no logback*.xml under src/main/resources");
    IllegalArgumentException thrown = new IllegalArgumentException("bad input 'x\n" + FORGED + " ex\u001b[2J'",
        new IllegalStateException("cause\r\n" + FORGED + " cause"));
    thrown.addSuppressed(new RuntimeException("suppressed\n" + FORGED + " suppressed Authorization: Bearer abc123"));
    for (Path config : configs) {
      LoggerContext context = new LoggerContext();
      JoranConfigurator configurator = new JoranConfigurator();
      configurator.setContext(context);
      configurator.doConfigure(config.toFile());
      ch.qos.logback.classic.Logger logger = context.getLogger("dev.conduit.Probe");
      ILoggingEvent event = new LoggingEvent(getClass().getName(), logger, Level.ERROR, "request failed", thrown, null);
      List<String> rendered = new ArrayList<>();
      for (ch.qos.logback.classic.Logger each : context.getLoggerList()) {
        for (Iterator<Appender<ILoggingEvent>> it = each.iteratorForAppenders(); it.hasNext(); ) {
          if (it.next() instanceof OutputStreamAppender<ILoggingEvent> appender) {
            rendered.add(new String(appender.getEncoder().encode(event), StandardCharsets.UTF_8));
          }
        }
      }
      context.stop();
      assertFalse(rendered.isEmpty(), config + " has no appender with an encoder");
      for (String text : rendered) {
        assertTrue(text.contains("at dev.conduit.logging.LogForgingTest"), config + ": stack trace missing:\n" + text);
        for (String where : List.of("ex", "cause", "suppressed")) {
          assertTrue(text.contains("\\n" + FORGED + " " + where), config + ": " + where + " not escaped:\n" + text);
        }
        assertTrue(text.contains("\\u001b[2J"), config + ": escape sequence not escaped:\n" + text);
        assertFalse(text.contains("\u001b"), config + ": raw escape sequence:\n" + text);
        assertFalse(text.contains("abc123"), config + ": credential in the stack trace:\n" + text);
        for (String line : text.split("\n", -1)) {
          assertFalse(line.strip().startsWith(FORGED), config + ": forged line: " + line);
          assertFalse(line.contains("\r"), config + ": carriage return in: " + line);
        }
      }
    }
  }

  /** Every logback configuration the relay ships (the build copies src/main/resources into the jar). */
  private static List<Path> shippedLogbackConfigs() throws IOException {
    try (Stream<Path> files = Files.walk(Path.of("src/main/resources"))) {
      return files.filter(f -> f.getFileName().toString().matches("logback.*\\.xml")).sorted().toList();
    }
  }

  /** The child's log once it satisfies done; the log is written asynchronously by another process. */
  private static String awaitLog(ChildServer server, Predicate<String> done) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    String log = Files.readString(server.log());
    while (!done.test(log) && System.nanoTime() < deadline) {
      Thread.sleep(50); // polling another process's file: there is nothing to wait on
      log = Files.readString(server.log());
    }
    return log;
  }
}
