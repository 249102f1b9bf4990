package dev.conduit.hub;

import dev.conduit.hub.auth.AuthResult;
import dev.conduit.hub.grpc.StreamResponse;
import io.grpc.Status;
import java.util.Optional;

/**
 * The stable machine-readable code of a refused connect, beside its text (the text is what
 * {@code connect_response.error} carries). Connect hubs get it as the end-stream error's code (the
 * lower-case name, e.g. {@code unauthenticated}); gRPC and gRPC-Web hubs get it as the call's final
 * status (grpc-status and grpc-message in the trailers), after the connect_response message.
 */
public final class RefusalCode {
  private RefusalCode() {}

  /**
   * unauthenticated for the authentication texts of {@link AuthResult}, invalid_argument for
   * {@link HubConnection#FIRST_MESSAGE_NOT_CONNECT}, deadline_exceeded for {@link HubConnection#CONNECT_TIMEOUT},
   * unknown for any other text.
   */
  /**
   * The status a stream that sent response must end with: the refusal's code with its text as the
   * description when response is connect_response{success=false, error}; empty for any other message.
   */
  public static Optional<Status> statusOf(StreamResponse response) {
    return response.hasConnectResponse() && !response.getConnectResponse().getSuccess()
        ? Optional.of(Status.fromCode(of(response.getConnectResponse().getError()))
            .withDescription(response.getConnectResponse().getError()))
        : Optional.empty();
  }

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
