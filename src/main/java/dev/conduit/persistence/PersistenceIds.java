package dev.conduit.persistence;

import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * Persistence ids as the journal stores them: {@code entityType + "|" + entityId} in the persistence_id
 * column of event_journal and snapshot. Every entity id that comes from outside (instance ids, claim
 * codes, ...) is bounded by {@link #maxEntityIdLength}, so a longer one is refused at the edge with a
 * precise error instead of failing in the database.
 */
public final class PersistenceIds {
  /**
   * Characters the persistence_id columns hold: VARCHAR(255) in pekko-persistence-jdbc's H2 and PostgreSQL
   * schemas (both count characters, not bytes; a Java length is never below the character count).
   */
  public static final int COLUMN_LENGTH = 255;

  private PersistenceIds() {}

  public static PersistenceId of(String entityType, String entityId) {
    return PersistenceId.of(entityType, entityId);
  }

  /** The longest entity id whose persistence id ({@code entityType|entityId}) still fits the column. */
  public static int maxEntityIdLength(String entityType) {
    return COLUMN_LENGTH - entityType.length() - PersistenceId.DefaultSeparator().length();
  }
}
