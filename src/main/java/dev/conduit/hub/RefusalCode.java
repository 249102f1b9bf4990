package dev.conduit.hub;

import dev.conduit.hub.auth.AuthResult;
import io.grpc.Status;

/**
 * The stable machine-readable code of a refused connect, beside its text (the text is what
 * {@code connect_response.error} carries). Connect hubs get it as the end-stream error's code (the
 * lower-case name, e.g. {@code unauthenticated}); it is the gRPC status code of the same name.
 */
public final class RefusalCode {
  private RefusalCode() {}

  /**
   * unauthenticated for the authentication texts of {@link AuthResult}, invalid_argument for
   * {@link HubConnection#FIRST_MESSAGE_NOT_CONNECT}, deadline_exceeded for {@link HubConnection#CONNECT_TIMEOUT},
   * unknown for any other text.
   */
  public static Status.Code of(String reason) {
    return switch (reason) {
      case AuthResult.UNKNOWN_HUB, AuthResult.OUTSIDE_WINDOW, AuthResult.INVALID_SIGNATURE, AuthResult.REPLAYED ->
          Status.Code.UNAUTHENTICATED;
      case HubConnection.FIRST_MESSAGE_NOT_CONNECT -> Status.Code.INVALID_ARGUMENT;
      case HubConnection.CONNECT_TIMEOUT -> Status.Code.DEADLINE_EXCEEDED;
      default -> Status.Code.UNKNOWN;
    };
  }
}
