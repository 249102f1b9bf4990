package dev.conduit.server;

import dev.conduit.persistence.Database;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * GET /healthz: the process is alive. GET /readyz: the journal answers, the server is bound and this node
 * is an Up cluster member (not while joining, leaving or removed: a load balancer sends it nothing then).
 */
public final class HealthRoutes extends AllDirectives {
  private final Database database;
  private final BooleanSupplier bound;
  private final Duration timeout;
  private final BooleanSupplier member;
  private final Supplier<String> memberStatus;

  /**
   * @param member       this node is an Up cluster member
   * @param memberStatus this node's membership status for the answer ("joining", "up", "leaving"...)
   */
  public HealthRoutes(Database database, BooleanSupplier bound, Duration timeout, BooleanSupplier member,
                      Supplier<String> memberStatus) {
    this.database = database;
    this.bound = bound;
    this.timeout = timeout;
    this.member = member;
    this.memberStatus = memberStatus;
  }

  public Route routes() {
    // get() inside each path (here and in every route class): a matched method directive cancels the
    // MethodRejections of all other routes, which would turn a wrong method elsewhere into 404 instead of 405.
    return concat(
        path("healthz", () -> get(() -> complete(Json.response(StatusCodes.OK, Json.MAPPER.createObjectNode().put("status", "ok"))))),
        path("readyz", () -> get(() -> onSuccess(database.isReachable(timeout), journal -> {
          boolean up = member.getAsBoolean();
          boolean ready = journal && bound.getAsBoolean() && up;
          var body = Json.MAPPER.createObjectNode()
              .put("status", ready ? "ready" : "not_ready")
              .put("journal", journal ? "reachable" : "unreachable")
              .put("server", bound.getAsBoolean() ? "bound" : "not_bound")
              .put("cluster", memberStatus.get());
          return complete(Json.response(ready ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE, body));
        }))));
  }
}
