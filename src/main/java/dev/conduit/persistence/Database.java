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
 * checks, and plain JDBC for read tables. Uses the journal's own connection pool.
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

  /** A JDBC connection from the pool; the caller closes it. Blocking: call on {@link #blockingExecutor()}. */
  public Connection connection() throws SQLException {
    return source.createConnection();
  }

  public Executor blockingExecutor() {
    return blocking;
  }

  /** True when a connection can be had and answers within timeout. */
  public CompletionStage<Boolean> isReachable(Duration timeout) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection connection = connection()) {
        return connection.isValid((int) Math.max(1, timeout.toSeconds()));
      } catch (SQLException e) {
        return false;
      }
    }, blocking).completeOnTimeout(false, timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
