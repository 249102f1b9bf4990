package dev.conduit.webhook;


import dev.conduit.server.AdminAuth;
import dev.conduit.server.Json;
import java.time.Clock;
import java.util.Set;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operator API under {@code /api}, behind the admin token: {@link EndpointRoutes} ({@code /api/endpoints})
 * and {@link WebhookRoutes} ({@code /api/webhooks}), each authorised and its 4xx answers logged here.
 */
public final class AdminRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(AdminRoutes.class);

  private final AdminAuth auth;
  private final EndpointRoutes endpointRoutes;
  private final WebhookRoutes webhookRoutes;

  public AdminRoutes(AdminAuth auth, EndpointStore endpoints, WebhookTable statusTable, EndpointEntities entities,
                     Set<String> hubIds, WebhookSettings settings, Clock clock) {
    this.auth = auth;
    this.endpointRoutes = new EndpointRoutes(endpoints, statusTable, entities, hubIds, settings, clock);
    this.webhookRoutes = new WebhookRoutes(statusTable, entities, settings);
  }

  public Route routes() {
    return pathPrefix("api", () -> concat(
        pathPrefix("endpoints", () -> auth.authorized(() -> refusalsLogged(endpointRoutes::routes))),
        pathPrefix("webhooks", () -> auth.authorized(() -> refusalsLogged(webhookRoutes::routes)))));
  }

  /**
   * An authorized request answered 4xx (bad field, unknown id, conflict) gets one INFO line: the operator's
   * tool did something wrong, and the answer alone is not in the relay's log. (401/429 are logged by
   * AdminAuth, 5xx where they happen.)
   */
  private Route refusalsLogged(java.util.function.Supplier<Route> inner) {
    return extractRequest(request -> mapResponse(response -> {
      int status = response.status().intValue();
      if (status >= 400 && status < 500) {
        LOG.info("admin request refused method={} path={} status={}", request.method().value(),
            request.getUri().path(), status);
      }
      return response;
    }, inner));
  }

  /** A database failure behind an admin request: 503, logged at WARN (the operator retries). */
  static HttpResponse unavailable(Throwable failure) {
    LOG.warn("admin request failed: {}", failure.toString());
    return Json.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", "Database unavailable; retry later");
  }
}
