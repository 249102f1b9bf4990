package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.conduit.persistence.Database;
import dev.conduit.persistence.DatabaseConfig;
import dev.conduit.testing.TestDatabase;
import dev.conduit.webhook.EndpointState.Webhook;
import dev.conduit.webhook.signature.Verdict;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The per-status counts /api/status shows come from webhook_counts, kept in step with the rows in the same
 * transaction: after inserts and status changes written by different writer slots, in one call or several,
 * they equal a COUNT(*) GROUP BY over the rows; a table that predates the counts is counted once at start.
 */
class WebhookCountsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void countsFollowEveryWrite_andAreSeededFromExistingRows(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.create(kind)) {
      ActorTestKit kit = ActorTestKit.create(DatabaseConfig.loadApplicationConfig(db.config()));
      try {
        Database database = new Database(kit.system());
        WebhookTable table = new WebhookTable(database);
        table.createIfAbsent().toCompletableFuture().get();

        table.write(List.of(insert("a"), insert("b"), insert("c"), insert("d")), 0);
        assertEquals(Map.of("received", 4L), table.countByStatus().toCompletableFuture().get());
        // Status changes from two slots, a repeated status (no change) and an insert + update in one call.
        table.write(List.of(update("a", DeliveryStatus.DISPATCHED, 1), update("b", DeliveryStatus.DISPATCHED, 1)), 1);
        table.write(List.of(update("a", DeliveryStatus.DELIVERED, 1), update("b", DeliveryStatus.RETRYING, 1),
            update("b", DeliveryStatus.RETRYING, 1), insert("e"), update("e", DeliveryStatus.FAILED, 0)), 0);
        table.write(List.of(update("c", DeliveryStatus.DEAD_LETTERED, 0)), 1);
        Map<String, Long> expected = Map.of("delivered", 1L, "retrying", 1L, "failed", 1L, "dead_lettered", 1L,
            "received", 1L);
        assertEquals(expected, groupBy(database));
        assertEquals(expected, table.countByStatus().toCompletableFuture().get());

        // A table from before webhook_counts existed: counted once when the relay starts.
        try (Connection c = database.connection(); Statement s = c.createStatement()) {
          s.execute("DELETE FROM webhook_counts");
        }
        table.createIfAbsent().toCompletableFuture().get();
        assertEquals(expected, table.countByStatus().toCompletableFuture().get());
        table.write(List.of(update("d", DeliveryStatus.DELIVERED, 1)), 1);
        assertEquals(groupBy(database), table.countByStatus().toCompletableFuture().get());
      } finally {
        kit.shutdownTestKit();
      }
    }
  }

  /**
   * Two transactions change the same row at once (an entity's previous incarnation's late status write
   * and its successor's): the second waits for the first and counts from the status the first committed.
   * Before the row lock, both counted the change from "received", and the counts drifted from the rows.
   * PostgreSQL only: the test observes the wait in pg_stat_activity.
   */
  @org.junit.jupiter.api.Test
  void concurrentChangesOfOneRowAreCountedOnce() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES)) {
      ActorTestKit kit = ActorTestKit.create(DatabaseConfig.loadApplicationConfig(db.config()));
      try {
        Database database = new Database(kit.system());
        WebhookTable table = new WebhookTable(database);
        table.createIfAbsent().toCompletableFuture().get();
        table.write(List.of(insert("a")), 0);
        try (Connection first = database.connection()) {
          first.setAutoCommit(false);
          WebhookTable.write(first, List.of(update("a", DeliveryStatus.DISPATCHED, 1)));
          java.util.concurrent.CompletableFuture<Void> second = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
              table.write(List.of(update("a", DeliveryStatus.DELIVERED, 1)), 1);
            } catch (java.sql.SQLException e) {
              throw new java.util.concurrent.CompletionException(e);
            }
          });
          awaitLockWait(database);
          first.commit();
          second.get(WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertEquals(Map.of("delivered", 1L), groupBy(database));
        assertEquals(Map.of("delivered", 1L), table.countByStatus().toCompletableFuture().get());
      } finally {
        kit.shutdownTestKit();
      }
    }
  }

  private static final long WAIT_SECONDS = 30;

  /** Until some session of this database waits for a row lock (the second writer, blocked by the first). */
  private static void awaitLockWait(Database database) throws Exception {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (System.nanoTime() < deadline) {
      try (Connection c = database.connection(); Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
               + "AND wait_event_type = 'Lock'")) {
        rs.next();
        if (rs.getLong(1) > 0) {
          return;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the second writer never waited for the first's row lock");
  }

  private static WebhookTable.Insert insert(String id) {
    return new WebhookTable.Insert("ep", new WebhookEvent.Received(id, T0, Map.of("content-type", "text/plain"),
        new byte[] {1}, Verdict.UNSIGNED, null, true));
  }

  private static WebhookTable.Update update(String id, DeliveryStatus status, int attempts) {
    return new WebhookTable.Update(new Webhook(id, 0, T0, T0, Verdict.UNSIGNED, status, attempts, null, null, null),
        T0, false);
  }

  private static Map<String, Long> groupBy(Database database) throws Exception {
    Map<String, Long> counts = new TreeMap<>();
    try (Connection c = database.connection(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT status, COUNT(*) FROM webhooks GROUP BY status")) {
      while (rs.next()) {
        counts.put(rs.getString(1), rs.getLong(2));
      }
    }
    return counts;
  }
}
