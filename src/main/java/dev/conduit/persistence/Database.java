package dev.conduit.persistence;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.persistence.jdbc.db.SlickExtension;
import org.apache.pekko.persistence.jdbc.db.SlickExtensionImpl;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;
import slick.jdbc.JdbcDataSource;

/**
 * The journal's database, seen from outside the journal: schema creation at start-up, readiness
 * checks, and plain JDBC for Conduit's own tables (endpoints, webhooks). Uses the journal's own connection pool.
 */
public final class Database {
  private final ActorSystem<?> system;
  private final JdbcDataSource source;
  private final Executor blocking;

  public Database(ActorSystem<?> system) {
    this.system = system;
    this.source = ((SlickExtensionImpl) SlickExtension.get(system))
        .database(system.settings().config().getConfig("jdbc-journal")).database().source();
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
  }

  /** Creates the journal and snapshot tables if they are absent (idempotent). */
  public CompletionStage<Done> createSchemaIfAbsent() {
    return SchemaUtils.createIfNotExists(system);
  }

  /** A JDBC connection from the pool; the caller closes it. Blocking: prefer {@link #withConnection}. */
  public Connection connection() throws SQLException {
    return source.createConnection();
  }

  /** JDBC work on one pooled connection. */
  @FunctionalInterface
  public interface SqlWork<T> {
    T apply(Connection connection) throws SQLException;
  }

  /**
   * Runs work on a pooled connection on the blocking dispatcher. A SQLException fails the stage with
   * an IllegalStateException saying what could not be done ("cannot " + what).
   */
  public <T> CompletionStage<T> withConnection(String what, SqlWork<T> work) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection connection = connection()) {
        return work.apply(connection);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot " + what + ": " + e.getMessage(), e);
      }
    }, blocking);
  }

  /** True when a connection can be had and answers within timeout. */
  public CompletionStage<Boolean> isReachable(Duration timeout) {
    return withConnection("reach the journal", c -> c.isValid((int) Math.max(1, timeout.toSeconds())))
        .toCompletableFuture()
        .exceptionally(failure -> false)
        .completeOnTimeout(false, timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
