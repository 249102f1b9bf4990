package dev.conduit.webhook;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.Json;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/webhooks} (admin token, checked by {@link AdminRoutes}): list, get, the payload as received,
 * replay. Queries, the payload included, read the {@code webhooks} table ({@link WebhookTable}); a replay
 * goes to the webhook's endpoint entity.
 */
final class WebhookRoutes extends AllDirectives {
  private static final int MAX_LIST = 1000;

  private final WebhookTable statusTable;
  private final EndpointEntities entities;
  private final WebhookSettings settings;

  WebhookRoutes(WebhookTable statusTable, EndpointEntities entities, WebhookSettings settings) {
    this.statusTable = statusTable;
    this.entities = entities;
    this.settings = settings;
  }

  Route routes() {
    return concat(
        pathEnd(() -> get(() -> parameterOptional("endpoint", endpoint -> parameterOptional("status", status ->
            parameterOptional("limit", limit -> parameterOptional("before", before ->
                completeWithFuture(listWebhooks(endpoint, status, limit, before)))))))),
        path(segment(), id -> get(() -> completeWithFuture(getWebhook(id)))),
        path(segment().slash("payload"), id -> get(() -> completeWithFuture(payload(id)))),
        path(segment().slash("replay"), id -> post(() -> completeWithFuture(replay(id)))));
  }

  private CompletionStage<HttpResponse> listWebhooks(Optional<String> endpoint, Optional<String> status,
                                                     Optional<String> limit, Optional<String> before) {
    if (status.isPresent() && DeliveryStatus.fromWireName(status.get()).isEmpty()) {
      return CompletableFuture.completedFuture(Json.error(StatusCodes.BAD_REQUEST, "invalid_parameter",
          "Unknown status '" + status.get() + "'; one of " + Arrays.stream(DeliveryStatus.values())
              .map(DeliveryStatus::wireName).collect(Collectors.joining(", "))));
    }
    int max;
    Long beforeSeq;
    try {
      max = limit.map(Integer::parseInt).orElse(100);
      beforeSeq = before.map(Long::parseLong).orElse(null);
      if (max < 1 || max > MAX_LIST) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      return CompletableFuture.completedFuture(Json.error(StatusCodes.BAD_REQUEST, "invalid_parameter",
          "limit must be 1.." + MAX_LIST + " and before a number"));
    }
    return statusTable.list(endpoint.filter(s -> !s.isEmpty()).orElse(null), status.orElse(null), beforeSeq, max)
        .thenApply(rows -> {
          ArrayNode list = Json.MAPPER.createArrayNode();
          rows.forEach(r -> list.add(json(r)));
          ObjectNode body = Json.MAPPER.createObjectNode();
          body.set("webhooks", list);
          if (rows.size() == max) {
            body.put("next_before", rows.get(rows.size() - 1).seq());
          }
          return Json.response(StatusCodes.OK, body);
        })
        .exceptionally(AdminRoutes::unavailable);
  }

  private CompletionStage<HttpResponse> getWebhook(String id) {
    return statusTable.get(id)
        .thenApply(row -> row.map(r -> Json.response(StatusCodes.OK, json(r)))
            .orElseGet(() -> Json.error(StatusCodes.NOT_FOUND, "not_found", "Webhook not found")))
        .exceptionally(AdminRoutes::unavailable);
  }

  /**
   * The webhook as received: {@code {"id","headers":[{"name","value"}],"body_base64","body_bytes"}}; header
   * names lower-case in arrival order, values decoded from their bytes as UTF-8 (for reading; malformed
   * sequences become U+FFFD). 404 unknown webhook. One read of the webhooks table by id.
   */
  private CompletionStage<HttpResponse> payload(String id) {
    return statusTable.payload(id).thenApply(received -> received.map(r -> {
        ObjectNode body = Json.MAPPER.createObjectNode().put("id", id);
        ArrayNode headers = body.putArray("headers");
        r.headerByteStrings().forEach((name, value) -> headers.addObject().put("name", name)
            .put("value", new String(HeaderBytes.toBytes(value), StandardCharsets.UTF_8)));
        body.put("body_base64", Base64.getEncoder().encodeToString(r.body())).put("body_bytes", r.body().length);
        return Json.response(StatusCodes.OK, body);
      }).orElseGet(() -> Json.error(StatusCodes.NOT_FOUND, "not_found", "Webhook not found")))
        .exceptionally(AdminRoutes::unavailable);
  }

  private CompletionStage<HttpResponse> replay(String id) {
    return statusTable.get(id).thenCompose(row -> {
      if (row.isEmpty()) {
        return CompletableFuture.completedFuture(Json.error(StatusCodes.NOT_FOUND, "not_found", "Webhook not found"));
      }
      return entities.ask(row.get().endpointId(),
              (ActorRef<WebhookEndpoint.ReplayResult> replyTo) -> new WebhookEndpoint.Replay(id, replyTo),
              settings.askTimeout())
          .thenApply(result -> switch (result) {
            case REPLAYED -> Json.response(StatusCodes.ACCEPTED, Json.MAPPER.createObjectNode()
                .put("id", id).put("status", DeliveryStatus.RECEIVED.wireName()));
            case ENDPOINT_DELETED -> Json.error(StatusCodes.CONFLICT, "endpoint_deleted",
                "The webhook's endpoint was deleted; it cannot be delivered again");
            case NOT_REPLAYABLE, NOT_FOUND -> Json.error(StatusCodes.CONFLICT, "not_replayable",
                "Only failed or dead-lettered webhooks can be replayed (this one is " + row.get().status() + ")");
          });
    }).exceptionally(AdminRoutes::unavailable);
  }

  static ObjectNode json(WebhookTable.Row r) {
    ObjectNode node = Json.MAPPER.createObjectNode()
        .put("id", r.id())
        .put("endpoint_id", r.endpointId())
        .put("status", r.status())
        .put("attempts", r.attempts())
        .put("signature", r.verdict())
        .put("received_at", r.receivedAt().toString())
        .put("updated_at", r.updatedAt().toString());
    node.put("next_retry_at", r.nextRetryAt() == null ? null : r.nextRetryAt().toString());
    if (r.lastStatusCode() == null) {
      node.putNull("last_status_code");
    } else {
      node.put("last_status_code", r.lastStatusCode());
    }
    node.put("last_error", r.lastError());
    node.put("query", r.query());
    return node;
  }

}
