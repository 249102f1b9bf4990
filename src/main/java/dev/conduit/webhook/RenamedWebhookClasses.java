package dev.conduit.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads events and snapshots journaled under the classes' former names (nested in WebhookEndpoint before
 * the entity was split) as today's classes; their JSON is unchanged. Registered for each former name
 * under {@code pekko.serialization.jackson.migrations} (webhook.conf). Jackson's manifest is the class
 * name, so without this an existing journal would not recover.
 */
public final class RenamedWebhookClasses extends JacksonMigration {
  private static final String OLD = "dev.conduit.webhook.WebhookEndpoint$";

  /** Former class name to current one. */
  static final Map<String, String> RENAMED = Map.of(
      OLD + "Received", WebhookEvent.Received.class.getName(),
      OLD + "Dispatched", WebhookEvent.Dispatched.class.getName(),
      OLD + "Delivered", WebhookEvent.Delivered.class.getName(),
      OLD + "RetryScheduled", WebhookEvent.RetryScheduled.class.getName(),
      OLD + "Failed", WebhookEvent.Failed.class.getName(),
      OLD + "DeadLettered", WebhookEvent.DeadLettered.class.getName(),
      OLD + "Requeued", WebhookEvent.Requeued.class.getName(),
      OLD + "Replayed", WebhookEvent.Replayed.class.getName(),
      OLD + "State", EndpointState.class.getName());

  /** Manifests without a version count as version 1: anything stored under a former name. */
  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    return RENAMED.getOrDefault(className, className);
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json;
  }
}
