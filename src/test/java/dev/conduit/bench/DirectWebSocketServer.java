package dev.conduit.bench;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The baseline for the tunnel benchmarks: the same pekko-http WebSocket server stack Conduit runs on,
 * with no relay behind it. {@code /echo} sends every message back; {@code /sink} reads every message
 * whole and answers only {@code ping} frames with {@code pong}. Runs in its own JVM: {@code port} argument.
 */
public final class DirectWebSocketServer {
  private static final long STRICT_TIMEOUT_MILLIS = 10_000;
  private static final String PONG = "{\"type\":\"pong\"}";

  private DirectWebSocketServer() {}

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    // Same server settings as Conduit's application.conf where they matter for sockets.
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "direct", ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.http.server.idle-timeout = 10m
        pekko.http.server.websocket.periodic-keep-alive-max-idle = 30s
        pekko.http.server.max-connections = 65536
        pekko.http.server.backlog = 1024
        """).withFallback(ConfigFactory.load()));
    Materializer mat = Materializer.matFromSystem(system);
    Flow<Message, Message, NotUsed> echo = Flow.<Message>create()
        .mapAsync(1, message -> strictText(message, mat))
        .map(text -> (Message) TextMessage.create(text));
    Flow<Message, Message, NotUsed> sink = Flow.<Message>create()
        .mapAsync(1, message -> strictText(message, mat))
        .filter(text -> text.startsWith("{\"type\":\"ping\""))
        .map(text -> (Message) TextMessage.create(PONG));
    Http.get(system).newServerAt("127.0.0.1", port).bind(concat(
        path("echo", () -> handleWebSocketMessages(echo)),
        path("sink", () -> handleWebSocketMessages(sink))));
  }

  private static CompletionStage<String> strictText(Message message, Materializer mat) {
    if (!message.isText()) {
      return CompletableFuture.completedFuture("");
    }
    TextMessage text = message.asTextMessage();
    return text.isStrict() ? CompletableFuture.completedFuture(text.getStrictText())
        : text.toStrict(STRICT_TIMEOUT_MILLIS, mat).thenApply(TextMessage::getStrictText);
  }
}
