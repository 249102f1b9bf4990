package dev.conduit.bench;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.typesafe.config.ConfigFactory;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.stream.Materializer;

/**
 * The layer figure for webhook-ingest: pekko-http alone, {@code POST /h/{id}} read whole and answered 200
 * with a small JSON body as Conduit's ingest answers, no storage, no actors. The same server stack and
 * settings Conduit's public port runs on, through pekko-http's own binding (one sealed route). Runs in its
 * own JVM: {@code port} argument.
 */
public final class DirectIngestServer {
  private static final long STRICT_TIMEOUT_MILLIS = 10_000;
  private static final long MAX_BODY_BYTES = 1024 * 1024;

  private DirectIngestServer() {}

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "direct", ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.http.server.idle-timeout = 60s
        pekko.http.server.max-connections = 65536
        pekko.http.server.backlog = 1024
        """).withFallback(ConfigFactory.load()));
    Materializer mat = Materializer.matFromSystem(system);
    Http.get(system).newServerAt("127.0.0.1", port).bind(
        path(segment("h").slash(segment()), id -> post(() -> extractRequestEntity(entity ->
            completeWithFuture(body(entity, mat).thenApply(strict -> HttpResponse.create()
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, "{\"id\":\"" + UUID.randomUUID()
                    + "\",\"status\":\"received\",\"bytes\":" + strict.getData().size() + "}"))))))));
  }

  private static CompletionStage<HttpEntity.Strict> body(RequestEntity entity, Materializer mat) {
    return entity instanceof HttpEntity.Strict strict ? CompletableFuture.completedFuture(strict)
        : entity.toStrict(STRICT_TIMEOUT_MILLIS, MAX_BODY_BYTES, mat);
  }
}
