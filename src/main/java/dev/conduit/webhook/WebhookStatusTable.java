package dev.conduit.webhook;

import dev.conduit.persistence.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;

/**
 * The operators' read table {@code webhook_status}: one row per webhook, maintained from the
 * endpoint entities' events by {@link WebhookStatusProjection}, which stores its journal offset in
 * {@code projection_offsets} in the same transaction as the rows it changed.
 */
public final class WebhookStatusTable {
  public static final String PROJECTION = "webhook_status";

  /** A row. Times are null when not set. */
  public record Row(String id, String endpointId, String status, int attempts, String verdict, Instant receivedAt,
                    Instant updatedAt, Instant nextRetryAt, Integer lastStatusCode, String lastError, long seq,
                    String query) {}

  /** An event with the journal coordinates the projection needs. */
  public record Change(long ordering, String endpointId, WebhookEvent event) {}

  private static final String COLUMNS = "id, endpoint_id, status, attempts, verdict, received_at, updated_at, "
      + "next_retry_at, last_status_code, last_error, seq, query";

  /** SQL list of the statuses of a webhook still queued (not delivered, failed or dead-lettered). */
  private static final String UNFINISHED = "('" + DeliveryStatus.RECEIVED.wireName() + "', '"
      + DeliveryStatus.DISPATCHED.wireName() + "', '" + DeliveryStatus.RETRYING.wireName() + "')";

  private final Database database;

  public WebhookStatusTable(Database database) {
    this.database = database;
  }

  public CompletionStage<Void> createIfAbsent() {
    return database.<Void>withConnection("create webhook_status", c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS webhook_status (id VARCHAR(64) PRIMARY KEY, "
            + "endpoint_id VARCHAR(64) NOT NULL, status VARCHAR(32) NOT NULL, attempts INT NOT NULL, "
            + "verdict VARCHAR(16) NOT NULL, received_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, "
            + "next_retry_at BIGINT, last_status_code INT, last_error VARCHAR(1024), seq BIGINT NOT NULL)");
        // Added later: tables made by older versions get the column, their rows have no query (null).
        s.execute("ALTER TABLE webhook_status ADD COLUMN IF NOT EXISTS query VARCHAR");
        s.execute("CREATE INDEX IF NOT EXISTS webhook_status_endpoint_seq ON webhook_status (endpoint_id, seq)");
        s.execute("CREATE INDEX IF NOT EXISTS webhook_status_status_seq ON webhook_status (status, seq)");
        s.execute("CREATE TABLE IF NOT EXISTS projection_offsets (name VARCHAR(128) PRIMARY KEY, "
            + "ordering BIGINT NOT NULL)");
      }
      return null;
    });
  }

  /** The journal ordering up to which the table is up to date (0: nothing yet). Blocking. */
  public long offset() throws SQLException {
    try (Connection c = database.connection();
         PreparedStatement s = c.prepareStatement("SELECT ordering FROM projection_offsets WHERE name = ?")) {
      s.setString(1, PROJECTION);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    }
  }

  /** Applies the changes and moves the offset, in one transaction. Blocking. */
  public void apply(List<Change> changes) throws SQLException {
    if (changes.isEmpty()) {
      return;
    }
    try (Connection c = database.connection()) {
      c.setAutoCommit(false);
      try {
        long offset = 0;
        for (Change change : changes) {
          applyOne(c, change);
          offset = Math.max(offset, change.ordering());
        }
        storeOffset(c, offset);
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private static void applyOne(Connection c, Change change) throws SQLException {
    WebhookEvent event = change.event();
    if (event instanceof WebhookEvent.Received e) {
      // Guarded insert: applying the same event twice (never expected) leaves one row.
      try (PreparedStatement s = c.prepareStatement("INSERT INTO webhook_status (" + COLUMNS + ") "
          + "SELECT ?, ?, ?, 0, ?, ?, ?, NULL, NULL, NULL, ?, ? WHERE NOT EXISTS "
          + "(SELECT 1 FROM webhook_status WHERE id = ?)")) {
        s.setString(1, e.webhookId());
        s.setString(2, change.endpointId());
        s.setString(3, DeliveryStatus.RECEIVED.wireName());
        s.setString(4, e.verdict().name().toLowerCase(Locale.ROOT));
        s.setLong(5, e.receivedAt().toEpochMilli());
        s.setLong(6, e.receivedAt().toEpochMilli());
        s.setLong(7, change.ordering());
        s.setString(8, e.query());
        s.setString(9, e.webhookId());
        s.executeUpdate();
      }
    } else if (event instanceof WebhookEvent.Dispatched e) {
      update(c, e.webhookId(), DeliveryStatus.DISPATCHED, e.attempt(), e.at(), null, KEEP, KEEP);
    } else if (event instanceof WebhookEvent.Delivered e) {
      update(c, e.webhookId(), DeliveryStatus.DELIVERED, null, e.at(), null, e.statusCode(), null);
    } else if (event instanceof WebhookEvent.RetryScheduled e) {
      update(c, e.webhookId(), DeliveryStatus.RETRYING, e.attempt(), e.at(), e.nextRetryAt(), e.statusCode(),
          e.error());
    } else if (event instanceof WebhookEvent.Failed e) {
      update(c, e.webhookId(), DeliveryStatus.FAILED, null, e.at(), null, e.statusCode(), e.error());
    } else if (event instanceof WebhookEvent.DeadLettered e) {
      update(c, e.webhookId(), DeliveryStatus.DEAD_LETTERED, null, e.at(), null, KEEP, KEEP);
    } else if (event instanceof WebhookEvent.Requeued e) {
      update(c, e.webhookId(), DeliveryStatus.RETRYING, null, e.at(), e.at(), KEEP, KEEP);
    } else if (event instanceof WebhookEvent.Replayed e) {
      update(c, e.webhookId(), DeliveryStatus.RECEIVED, null, e.at(), null, KEEP, KEEP);
    }
  }

  /** Marks "leave this column as it is". */
  private static final Object KEEP = new Object();

  private static void update(Connection c, String id, DeliveryStatus status, Integer attempts, Instant at,
                             Instant nextRetryAt, Object lastStatusCode, Object lastError) throws SQLException {
    StringBuilder sql = new StringBuilder("UPDATE webhook_status SET status = ?, updated_at = ?, next_retry_at = ?");
    if (attempts != null) {
      sql.append(", attempts = ?");
    }
    if (lastStatusCode != KEEP) {
      sql.append(", last_status_code = ?");
    }
    if (lastError != KEEP) {
      sql.append(", last_error = ?");
    }
    sql.append(" WHERE id = ?");
    try (PreparedStatement s = c.prepareStatement(sql.toString())) {
      int i = 1;
      s.setString(i++, status.wireName());
      s.setLong(i++, at.toEpochMilli());
      if (nextRetryAt == null) {
        s.setNull(i++, Types.BIGINT);
      } else {
        s.setLong(i++, nextRetryAt.toEpochMilli());
      }
      if (attempts != null) {
        s.setInt(i++, attempts);
      }
      if (lastStatusCode != KEEP) {
        if (lastStatusCode == null || (Integer) lastStatusCode == 0) {
          s.setNull(i++, Types.INTEGER);
        } else {
          s.setInt(i++, (Integer) lastStatusCode);
        }
      }
      if (lastError != KEEP) {
        String error = (String) lastError;
        if (error == null || error.isEmpty()) {
          s.setNull(i++, Types.VARCHAR);
        } else {
          s.setString(i++, error.length() > 1024 ? error.substring(0, 1024) : error);
        }
      }
      s.setString(i, id);
      s.executeUpdate();
    }
  }

  private static void storeOffset(Connection c, long offset) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("UPDATE projection_offsets SET ordering = ? WHERE name = ?")) {
      s.setLong(1, offset);
      s.setString(2, PROJECTION);
      if (s.executeUpdate() > 0) {
        return;
      }
    }
    try (PreparedStatement s = c.prepareStatement("INSERT INTO projection_offsets (name, ordering) VALUES (?, ?)")) {
      s.setString(1, PROJECTION);
      s.setLong(2, offset);
      s.executeUpdate();
    }
  }

  /** Number of webhooks per status (statuses with none are absent). */
  public CompletionStage<Map<String, Long>> countByStatus() {
    return database.withConnection("read webhook_status", c -> {
      try (Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT status, COUNT(*) FROM webhook_status GROUP BY status")) {
        Map<String, Long> counts = new TreeMap<>();
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getLong(2));
        }
        return counts;
      }
    });
  }

  /**
   * Queue depth per endpoint: webhooks received, dispatched or retrying (not yet delivered, failed or
   * dead-lettered), per this table. Endpoints with none are absent.
   */
  public CompletionStage<Map<String, Long>> queuedByEndpoint() {
    return database.withConnection("read webhook_status", c -> {
      try (Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT endpoint_id, COUNT(*) FROM webhook_status WHERE status IN "
               + UNFINISHED + " GROUP BY endpoint_id")) {
        Map<String, Long> counts = new TreeMap<>();
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getLong(2));
        }
        return counts;
      }
    });
  }

  /** Endpoints (existing or not) with webhooks not yet delivered, failed or dead-lettered, per this table. */
  public CompletionStage<List<String>> endpointsWithUnfinished() {
    return database.withConnection("read webhook_status", c -> {
      try (Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT DISTINCT endpoint_id FROM webhook_status WHERE status IN "
               + UNFINISHED)) {
        List<String> ids = new ArrayList<>();
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
        return ids;
      }
    });
  }

  public CompletionStage<Optional<Row>> get(String id) {
    return database.withConnection("read webhook_status", c -> {
      try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM webhook_status WHERE id = ?")) {
        s.setString(1, id);
        try (ResultSet rs = s.executeQuery()) {
          return rs.next() ? Optional.of(row(rs)) : Optional.<Row>empty();
        }
      }
    });
  }

  /** Newest first; endpointId and status may be null (no filter); afterSeq pages backwards when given. */
  public CompletionStage<List<Row>> list(String endpointId, String status, Long beforeSeq, int limit) {
    return database.withConnection("read webhook_status", c -> {
      StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM webhook_status WHERE 1 = 1");
      List<Object> args = new ArrayList<>();
      if (endpointId != null) {
        sql.append(" AND endpoint_id = ?");
        args.add(endpointId);
      }
      if (status != null) {
        sql.append(" AND status = ?");
        args.add(status);
      }
      if (beforeSeq != null) {
        sql.append(" AND seq < ?");
        args.add(beforeSeq);
      }
      sql.append(" ORDER BY seq DESC LIMIT ").append(limit);
      try (PreparedStatement s = c.prepareStatement(sql.toString())) {
        for (int i = 0; i < args.size(); i++) {
          s.setObject(i + 1, args.get(i));
        }
        List<Row> rows = new ArrayList<>();
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            rows.add(row(rs));
          }
        }
        return rows;
      }
    });
  }

  private static Row row(ResultSet rs) throws SQLException {
    long next = rs.getLong(8);
    Instant nextRetryAt = rs.wasNull() ? null : Instant.ofEpochMilli(next);
    int code = rs.getInt(9);
    Integer lastStatusCode = rs.wasNull() ? null : code;
    return new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4), rs.getString(5),
        Instant.ofEpochMilli(rs.getLong(6)), Instant.ofEpochMilli(rs.getLong(7)), nextRetryAt, lastStatusCode,
        rs.getString(10), rs.getLong(11), rs.getString(12));
  }
}
