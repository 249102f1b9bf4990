package dev.conduit.server;

import dev.conduit.persistence.Database;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/** GET /healthz: the process is alive. GET /readyz: the journal answers and the server is bound. */
public final class HealthRoutes extends AllDirectives {
  private final Database database;
  private final BooleanSupplier bound;
  private final Duration timeout;

  public HealthRoutes(Database database, BooleanSupplier bound, Duration timeout) {
    this.database = database;
    this.bound = bound;
    this.timeout = timeout;
  }

  public Route routes() {
    // get() inside each path (here and in every route class): a matched method directive cancels the
    // MethodRejections of all other routes, which would turn a wrong method elsewhere into 404 instead of 405.
    return concat(
        path("healthz", () -> get(() -> complete(Json.response(StatusCodes.OK, Json.MAPPER.createObjectNode().put("status", "ok"))))),
        path("readyz", () -> get(() -> onSuccess(database.isReachable(timeout), journal -> {
          boolean ready = journal && bound.getAsBoolean();
          var body = Json.MAPPER.createObjectNode()
              .put("status", ready ? "ready" : "not_ready")
              .put("journal", journal ? "reachable" : "unreachable")
              .put("server", bound.getAsBoolean() ? "bound" : "not_bound");
          return complete(Json.response(ready ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE, body));
        }))));
  }
}
