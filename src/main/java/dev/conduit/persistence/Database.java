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

  /**
   * Key of the PostgreSQL advisory lock that start-up work holds: any 64-bit number no other
   * application on the database uses ("conduit" in ASCII).
   */
  private static final long STARTUP_LOCK_KEY = 0x636f6e64756974L;

  /** How often a node waiting for the start-up lock tries it again (start-up work takes seconds). */
  private static final Duration STARTUP_LOCK_RETRY = Duration.ofMillis(100);

  /**
   * Runs work while holding a database-wide lock, so that nodes of a cluster starting at once on one
   * PostgreSQL database do their schema creation and one-time migrations one after the other (two
   * concurrent CREATE TABLE IF NOT EXISTS, or two imports, fail with a duplicate key). The lock is a
   * session-level advisory lock on a connection of its own (not from the pool), released when work
   * completes; the work uses pooled connections. On embedded H2 (one process only) work runs as is.
   */
  public <T> CompletionStage<T> exclusively(java.util.function.Supplier<CompletionStage<T>> work) {
    DatabaseConfig db = DatabaseConfig.from(system.settings().config());
    if (db.kind() != DatabaseConfig.Kind.POSTGRES) {
      return work.get();
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        // A connection of its own, outside the pool: waiting for the lock may take longer than the pool's
        // connection-timeout, and the work needs the pool's connections.
        Connection lock = java.sql.DriverManager.getConnection(db.url(), db.user(), db.password());
        try (var statement = lock.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
          statement.setLong(1, STARTUP_LOCK_KEY);
          // Tried, not waited for: a waiting pg_advisory_lock is a transaction in progress, and the
          // holder's CREATE INDEX CONCURRENTLY (pekko's journal schema) waits for every transaction in
          // progress: three nodes deadlocked that way. Each try is a transaction of its own, over at once.
          while (true) {
            try (var result = statement.executeQuery()) {
              if (result.next() && result.getBoolean(1)) {
                return lock;
              }
            }
            Thread.sleep(STARTUP_LOCK_RETRY.toMillis());
          }
        } catch (SQLException | RuntimeException e) {
          lock.close();
          throw e;
        }
      } catch (SQLException e) {
        throw new IllegalStateException("cannot take the start-up lock: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the start-up lock", e);
      }
    }, blocking).thenCompose(lock -> {
      CompletionStage<T> done;
      try {
        done = work.get();
      } catch (RuntimeException e) {
        done = CompletableFuture.failedFuture(e);
      }
      return done.whenCompleteAsync((result, failure) -> {
        // Closing the session releases its advisory locks too; unlocking first says so explicitly.
        try (lock; var statement = lock.prepareStatement("SELECT pg_advisory_unlock(?)")) {
          statement.setLong(1, STARTUP_LOCK_KEY);
          statement.execute();
        } catch (SQLException e) {
          // the lock goes with the session if the pool ever closes it; nothing else to do
        }
      }, blocking);
    });
  }

  /** True when a connection can be had and answers within timeout. */
  public CompletionStage<Boolean> isReachable(Duration timeout) {
    return withConnection("reach the journal", c -> c.isValid((int) Math.max(1, timeout.toSeconds())))
        .toCompletableFuture()
        .exceptionally(failure -> false)
        .completeOnTimeout(false, timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
