package dev.conduit.hub.client;

import dev.conduit.hub.grpc.DeliveryAck;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletionException;

/**
 * Turns a destination's answer into the {@link DeliveryAck} for the edge: 2xx succeeds, 4xx (but 408/429) fails for good,
 * anything else (5xx, other statuses, timeouts, connection errors) may be retried.
 */
final class DeliveryAcks {
  private static final int REQUEST_TIMEOUT = 408;
  private static final int TOO_MANY_REQUESTS = 429;
  /** Status code sent when no HTTP response was received. */
  static final int NO_STATUS = 0;
  /** error_message is for people reading the edge's logs; keep it to one short line. */
  private static final int MAX_ERROR_LENGTH = 200;

  private DeliveryAcks() {}

  static DeliveryAck forStatus(String webhookId, int status) {
    if (isSuccess(status)) {
      return success(webhookId, status);
    }
    return failure(webhookId, status, "HTTP " + status, isClientError(status));
  }

  static DeliveryAck success(String webhookId, int status) {
    return DeliveryAck.newBuilder().setWebhookId(webhookId).setSuccess(true).setStatusCode(status).build();
  }

  /** The POST did not produce a response: timeouts and I/O errors are worth retrying. */
  static DeliveryAck forFailure(String webhookId, Throwable failure, Duration requestTimeout) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    String message;
    if (cause instanceof SocketTimeoutException) { // connect or response timeout
      message = "timed out after " + requestTimeout.toMillis() + " ms (" + describe(cause) + ")";
    } else if (cause instanceof ConnectException) {
      message = "cannot connect to destination (" + describe(cause) + ")";
    } else {
      message = describe(cause);
    }
    return failure(webhookId, NO_STATUS, message, false);
  }

  /** The destination URL cannot be used at all; retrying will not help. */
  static DeliveryAck invalidDestination(String webhookId, String reason) {
    return failure(webhookId, NO_STATUS, "invalid destination: " + reason, true);
  }

  private static DeliveryAck failure(String webhookId, int status, String message, boolean permanent) {
    return DeliveryAck.newBuilder()
        .setWebhookId(webhookId)
        .setSuccess(false)
        .setStatusCode(status)
        .setErrorMessage(truncate(message))
        .setPermanentFailure(permanent)
        .build();
  }

  static String describe(Throwable t) {
    String message = t.getMessage();
    return message == null || message.isBlank() ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + message;
  }

  private static String truncate(String message) {
    String oneLine = message.replaceAll("\\s+", " ");
    return oneLine.length() <= MAX_ERROR_LENGTH ? oneLine : oneLine.substring(0, MAX_ERROR_LENGTH);
  }

  private static boolean isSuccess(int status) {
    return status / 100 == 2;
  }

  /**
   * 4xx means the request itself is wrong, so retrying cannot help — except 408 Request Timeout and
   * 429 Too Many Requests, which say "later" and are retried like 5xx.
   */
  private static boolean isClientError(int status) {
    return status / 100 == 4 && status != REQUEST_TIMEOUT && status != TOO_MANY_REQUESTS;
  }
}
