package dev.conduit.webhook;

import com.typesafe.config.Config;
import dev.conduit.retry.Backoff;
import java.time.Duration;

/** The webhook relay's limits and timeouts, read from {@code conduit.webhook} (see webhook.conf). */
public record WebhookSettings(
    int maxBodyBytes,
    boolean rejectUnverified,
    Duration signatureTolerance,
    Duration retryMinBackoff,
    Duration retryMaxBackoff,
    Duration deadLetterAfter,
    Duration sweepInterval,
    Duration offerRetryInterval,
    Duration ackTimeout,
    Duration ingestTimeout,
    Duration askTimeout,
    String adminToken,
    long heldPayloadBytes,
    Duration bodyTimeout,
    int writeBatchMax,
    int writeParallelism,
    int writeQueueSize,
    Duration statusWriteDelay,
    Duration endpointRefreshInterval) {

  public static WebhookSettings from(Config config) {
    Config c = config.getConfig("conduit.webhook");
    return new WebhookSettings(
        (int) c.getBytes("max-body-bytes").longValue(),
        c.getBoolean("reject-unverified"),
        c.getDuration("signature-tolerance"),
        c.getDuration("retry-min-backoff"),
        c.getDuration("retry-max-backoff"),
        c.getDuration("dead-letter-after"),
        c.getDuration("sweep-interval"),
        c.getDuration("offer-retry-interval"),
        c.getDuration("ack-timeout"),
        c.getDuration("ingest-timeout"),
        c.getDuration("ask-timeout"),
        c.getString("admin-token"),
        c.getBytes("held-payload-bytes"),
        c.getDuration("body-timeout"),
        c.getInt("write-batch-max"),
        c.getInt("write-parallelism"),
        c.getInt("write-queue-size"),
        c.getDuration("status-write-delay"),
        c.getDuration("endpoint-refresh-interval"));
  }

  /** Delay before the retry that follows the given failed attempt (1-based): min doubling, capped at max. */
  public Duration backoff(int failedAttempts) {
    return new Backoff(retryMinBackoff, retryMaxBackoff, 0).delay(failedAttempts - 1);
  }
}
