package dev.conduit.server;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /api/status}: every feature's counts in one object. A section that cannot be read says
 * so ({"error": ...}) instead of failing the whole answer.
 */
public final class StatusRoutes extends AllDirectives {
  private final List<StatusSection> sections;

  public StatusRoutes(List<StatusSection> sections) {
    this.sections = List.copyOf(sections);
  }

  public Route routes() {
    return path(segment("api").slash("status"), () -> get(() -> onSuccess(collect(), body ->
        complete(Json.response(StatusCodes.OK, body)))));
  }

  private CompletionStage<ObjectNode> collect() {
    ObjectNode body = Json.MAPPER.createObjectNode();
    List<CompletableFuture<Void>> reads = sections.stream().map(section -> section.read()
        .exceptionally(failure -> Json.MAPPER.createObjectNode().put("error", section.name() + " status unavailable"))
        .thenAccept(node -> {
          synchronized (body) {
            body.set(section.name(), node);
          }
        }).toCompletableFuture()).toList();
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(done -> {
      // Sections arrive in any order; answer in the order they were registered.
      ObjectNode ordered = Json.MAPPER.createObjectNode();
      sections.forEach(section -> ordered.set(section.name(), body.get(section.name())));
      return ordered;
    });
  }
}
