package dev.conduit.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.conduit.testing.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/**
 * Nodes of a cluster starting at once on one PostgreSQL database ran the one-time webhook import twice
 * ("duplicate key value violates unique constraint webhook_migrations_pkey": the second node failed to
 * start). Start-up work now runs under a database-wide advisory lock: while another session holds it,
 * the work waits, and the waiting is no transaction in progress (the holder's CREATE INDEX CONCURRENTLY
 * waits for every one: a blocking pg_advisory_lock deadlocked three nodes).
 */
class StartupLockTest {
  private static final long KEY = 0x636f6e64756974L;

  @Test
  @org.junit.jupiter.api.Timeout(120) // a hang guard: with a blocking lock wait, the index build never ends
  void startUpWorkWaitsWhileAnotherNodeHoldsTheLock() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES)) {
      ActorTestKit kit = ActorTestKit.create(DatabaseConfig.loadApplicationConfig(db.config()));
      try (Connection other = DriverManager.getConnection(db.config().getString("conduit.db.url"),
          db.config().getString("conduit.db.user"), db.config().getString("conduit.db.password"))) {
        try (PreparedStatement lock = other.prepareStatement("SELECT pg_advisory_lock(?)")) {
          lock.setLong(1, KEY);
          lock.execute();
        }
        AtomicBoolean ran = new AtomicBoolean();
        CompletableFuture<String> done = new Database(kit.system())
            .exclusively(() -> {
              ran.set(true);
              return CompletableFuture.completedFuture("migrated");
            }).toCompletableFuture();
        // The work is waiting for the lock: it cannot have run, however long this waits.
        Thread.sleep(500);
        assertFalse(ran.get(), "start-up work ran while another node held the lock");
        // The holder can build an index concurrently meanwhile: the waiter holds no transaction open.
        try (var index = other.createStatement()) {
          index.execute("CREATE TABLE lock_probe (id INT)");
          index.execute("CREATE INDEX CONCURRENTLY lock_probe_idx ON lock_probe (id)");
        }
        try (PreparedStatement unlock = other.prepareStatement("SELECT pg_advisory_unlock(?)")) {
          unlock.setLong(1, KEY);
          unlock.execute();
        }
        assertEquals("migrated", done.get(30, TimeUnit.SECONDS));
      } finally {
        kit.shutdownTestKit();
      }
    }
  }
}
