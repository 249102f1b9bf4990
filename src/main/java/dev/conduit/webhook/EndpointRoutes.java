package dev.conduit.webhook;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.Json;
import dev.conduit.webhook.signature.Provider;
import java.net.URI;
import java.time.Clock;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /api/endpoints} (admin token, checked by {@link AdminRoutes}): create, list, get, update, delete.
 * Bodies are JSON objects; every refusal is the API's JSON error shape.
 */
final class EndpointRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(EndpointRoutes.class);

  private final EndpointStore endpoints;
  private final WebhookTable statusTable;
  private final EndpointEntities entities;
  private final Set<String> hubIds;
  private final WebhookSettings settings;
  private final Clock clock;

  EndpointRoutes(EndpointStore endpoints, WebhookTable statusTable, EndpointEntities entities, Set<String> hubIds,
                 WebhookSettings settings, Clock clock) {
    this.endpoints = endpoints;
    this.statusTable = statusTable;
    this.entities = entities;
    this.hubIds = hubIds;
    this.settings = settings;
    this.clock = clock;
  }

  Route routes() {
    return concat(
        pathEnd(() -> concat(
            get(() -> completeWithFuture(listEndpoints())),
            post(() -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(create(body)))))),
        path(segment(), id -> concat(
            get(() -> complete(getEndpoint(id))),
            put(() -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(update(id, body)))),
            patch(() -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(update(id, body)))),
            delete(() -> parameterOptional("force", force ->
                completeWithFuture(delete(id, force.filter("true"::equals).isPresent())))))));
  }

  /** Each endpoint with {@code queued}: its webhooks not yet delivered, failed or dead-lettered (from the webhooks table). */
  private CompletionStage<HttpResponse> listEndpoints() {
    return statusTable.queuedByEndpoint().thenApply(queued -> {
      ArrayNode list = Json.MAPPER.createArrayNode();
      endpoints.all().forEach(e -> list.add(json(e).put("queued", queued.getOrDefault(e.id(), 0L))));
      ObjectNode body = Json.MAPPER.createObjectNode();
      body.set("endpoints", list);
      return Json.response(StatusCodes.OK, body);
    }).exceptionally(AdminRoutes::unavailable);
  }

  private HttpResponse getEndpoint(String id) {
    return endpoints.get(id).map(e -> Json.response(StatusCodes.OK, json(e)))
        .orElseGet(() -> Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found"));
  }

  private record Fields(String name, Provider provider, Optional<String> secret, String destinationUrl, String hubId) {}

  /** Validates the JSON; fields absent from an update keep base's value. Throws BadRequest. */
  private Fields parse(String body, Endpoint base) {
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(body);
    } catch (java.io.IOException e) {
      throw new BadRequest("malformed_json", "Body is not valid JSON");
    }
    if (json == null || !json.isObject()) {
      throw new BadRequest("malformed_json", "Body must be a JSON object");
    }
    String name = text(json, "name", base == null ? null : base.name());
    String providerName = text(json, "provider", base == null ? null : base.provider().wireName());
    String destination = text(json, "destination_url", base == null ? null : base.destinationUrl());
    String hubId = text(json, "hub_id", base == null ? null : base.hubId());
    Optional<String> secret = json.has("secret")
        ? Optional.ofNullable(json.get("secret").isNull() ? null : json.get("secret").asText())
        .filter(s -> !s.isEmpty())
        : Optional.ofNullable(base == null ? null : base.secret());
    if (json.has("secret") && !json.get("secret").isNull() && !json.get("secret").isTextual()) {
      throw new BadRequest("invalid_field", "secret must be a string");
    }
    // Every missing field at once, so a form (or a person at curl) fixes them in one go.
    Map<String, String> required = new LinkedHashMap<>();
    required.put("name", name);
    required.put("provider", providerName);
    required.put("destination_url", destination);
    required.put("hub_id", hubId);
    List<String> missing = required.entrySet().stream()
        .filter(field -> field.getValue() == null || field.getValue().isBlank())
        .map(Map.Entry::getKey)
        .toList();
    if (!missing.isEmpty()) {
      throw new BadRequest("missing_field", (missing.size() == 1 ? "Field " : "Fields ")
          + missing.stream().map(field -> "'" + field + "'").collect(Collectors.joining(", "))
          + (missing.size() == 1 ? " is required" : " are required"));
    }
    Provider provider = Provider.fromWireName(providerName).orElseThrow(() -> new BadRequest("unknown_provider",
        "Unknown provider '" + providerName + "'; one of " + Arrays.stream(Provider.values()).map(Provider::wireName)
            .collect(Collectors.joining(", "))));
    try {
      URI uri = URI.create(destination);
      if (uri.getScheme() == null || !Set.of("http", "https").contains(uri.getScheme().toLowerCase())
          || uri.getHost() == null) {
        throw new IllegalArgumentException();
      }
    } catch (IllegalArgumentException e) {
      throw new BadRequest("invalid_field", "destination_url must be an absolute http(s) URL");
    }
    if (!hubIds.contains(hubId)) {
      throw new BadRequest("unknown_hub", "Unknown hub '" + hubId + "'");
    }
    // The endpoint table's column sizes: longer values are the client's mistake, not a database failure.
    checkLength("name", name.strip(), 256);
    checkLength("secret", secret.orElse(""), 1024);
    checkLength("destination_url", destination, 2048);
    return new Fields(name.strip(), provider, secret, destination, hubId);
  }

  private static void checkLength(String field, String value, int max) {
    if (value.length() > max) {
      throw new BadRequest("invalid_field", "Field '" + field + "' is longer than " + max + " characters");
    }
  }

  private static String text(JsonNode json, String field, String fallback) {
    JsonNode node = json.get(field);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isTextual()) {
      throw new BadRequest("invalid_field", "Field '" + field + "' must be a string");
    }
    return node.asText();
  }

  private CompletionStage<HttpResponse> create(String body) {
    Fields f;
    try {
      f = parse(body, null);
    } catch (BadRequest e) {
      return CompletableFuture.completedFuture(e.response());
    }
    return endpoints.create(f.name(), f.provider(), f.secret().orElse(null), f.destinationUrl(), f.hubId(),
            clock.instant())
        .thenApply(e -> {
          LOG.info("endpoint created id={} name={} provider={} hub={}", e.id(), e.name(), e.provider().wireName(),
              e.hubId());
          return Json.response(StatusCodes.CREATED, json(e));
        })
        .exceptionally(AdminRoutes::unavailable);
  }

  private CompletionStage<HttpResponse> update(String id, String body) {
    Optional<Endpoint> existing = endpoints.get(id);
    if (existing.isEmpty()) {
      return CompletableFuture.completedFuture(Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found"));
    }
    Fields f;
    try {
      f = parse(body, existing.get());
    } catch (BadRequest e) {
      return CompletableFuture.completedFuture(e.response());
    }
    Endpoint e = existing.get();
    Endpoint updated = new Endpoint(e.id(), f.name(), f.provider(), f.secret().orElse(null), f.destinationUrl(),
        f.hubId(), e.createdAt(), clock.instant());
    return endpoints.update(updated)
        .thenApply(result -> result.map(u -> {
          LOG.info("endpoint updated id={}", u.id());
          return Json.response(StatusCodes.OK, json(u));
        }).orElseGet(() -> Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found")))
        .exceptionally(AdminRoutes::unavailable);
  }

  /**
   * Deletion goes through the endpoint's entity, ordered with ingest (see {@link WebhookEndpoint.Delete}):
   * 409 webhooks_queued while anything is queued or being stored, unless ?force=true, which marks what is
   * queued failed ("endpoint deleted") before the definition goes.
   */
  private CompletionStage<HttpResponse> delete(String id, boolean force) {
    if (endpoints.get(id).isEmpty()) {
      return CompletableFuture.completedFuture(Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found"));
    }
    return entities.ask(id,
            (ActorRef<WebhookEndpoint.DeleteResult> replyTo) ->
                new WebhookEndpoint.Delete(force, replyTo),
            settings.askTimeout())
        .thenApply(result -> {
          if (result instanceof WebhookEndpoint.Deleted deleted) {
            if (deleted.failed() > 0) {
              LOG.warn("endpoint deleted with queued webhooks id={} failed={}", id, deleted.failed());
            } else {
              LOG.info("endpoint deleted id={}", id);
            }
            return HttpResponse.create().withStatus(StatusCodes.NO_CONTENT);
          }
          if (result instanceof WebhookEndpoint.StillQueued queued) {
            return Json.response(StatusCodes.CONFLICT, Json.MAPPER.createObjectNode()
                .put("error", "webhooks_queued")
                .put("message", queued.queued() + " webhooks are still queued for this endpoint; let them be "
                    + "delivered, or DELETE with ?force=true to mark them failed")
                .put("queued", queued.queued()));
          }
          if (result == WebhookEndpoint.DeleteRefused.IN_PROGRESS) {
            return Json.error(StatusCodes.CONFLICT, "delete_in_progress", "This endpoint is being deleted");
          }
          if (result instanceof WebhookEndpoint.DeleteFailed failed) {
            return AdminRoutes.unavailable(new IllegalStateException(failed.cause()));
          }
          return Json.error(StatusCodes.NOT_FOUND, "not_found", "Endpoint not found");
        })
        .exceptionally(AdminRoutes::unavailable);
  }

  static ObjectNode json(Endpoint e) {
    return Json.MAPPER.createObjectNode()
        .put("id", e.id())
        .put("name", e.name())
        .put("provider", e.provider().wireName())
        .put("has_secret", e.secret() != null)
        .put("destination_url", e.destinationUrl())
        .put("hub_id", e.hubId())
        .put("ingest_path", "/h/" + e.id())
        .put("created_at", e.createdAt().toString())
        .put("updated_at", e.updatedAt().toString());
  }

  private static final class BadRequest extends RuntimeException {
    private final String code;

    BadRequest(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    HttpResponse response() {
      return Json.error(StatusCodes.BAD_REQUEST, code, getMessage());
    }
  }
}
