package dev.conduit.persistence;

import dev.conduit.retry.Backoff;
import java.time.Duration;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;

/**
 * How whatever depends on the database reacts when it fails: restart, backing off while the database is
 * down (entities after a failed journal write, read-side streams after a failed query).
 */
public final class PersistFailures {
  /** 200 ms doubling to 5 s: quick after a blip, at most one attempt per 5 s during an outage. */
  public static final Backoff DATABASE_BACKOFF = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2);

  private PersistFailures() {}

  public static BackoffSupervisorStrategy restartWithBackoff() {
    return DATABASE_BACKOFF.supervisorStrategy();
  }
}
