package dev.conduit.hub;

import com.typesafe.config.Config;
import dev.conduit.hub.auth.HubAuthenticator;
import java.time.Duration;
import java.util.Map;

/**
 * Hubs allowed to connect and the hub stream's timers and limits, from {@code conduit.hub} (see webhook.conf).
 * maxFirstMessageBytes caps the unauthenticated first message of a call, maxMessageBytes every later one
 * (bytes of the gRPC message, see {@link GrpcMessageLimit}).
 */
public record HubSettings(
    Map<String, String> hubs,
    boolean grpcOnHttpPort,
    int grpcPort,
    String grpcHost,
    String tlsCertificate,
    String tlsPrivateKey,
    Duration authTolerance,
    int replayCacheSize,
    Duration heartbeatInterval,
    Duration staleTimeout,
    Duration connectTimeout,
    int maxOutstanding,
    int maxFirstMessageBytes,
    int maxMessageBytes) {

  public static HubSettings from(Config config) {
    Config c = config.getConfig("conduit.hub");
    return new HubSettings(
        HubAuthenticator.parseHubs(c.getString("hubs")),
        c.getBoolean("grpc-on-http-port"),
        c.getInt("grpc-port"),
        c.getString("grpc-host"),
        c.getString("tls.certificate"),
        c.getString("tls.private-key"),
        c.getDuration("auth-tolerance"),
        c.getInt("replay-cache-size"),
        c.getDuration("heartbeat-interval"),
        c.getDuration("stale-timeout"),
        c.getDuration("connect-timeout"),
        c.getInt("max-outstanding"),
        (int) c.getBytes("max-first-message-bytes").longValue(),
        (int) c.getBytes("max-message-bytes").longValue());
  }

  public boolean tls() {
    return !tlsCertificate.isBlank() || !tlsPrivateKey.isBlank();
  }
}
