package dev.conduit.tunnel;

import com.typesafe.config.Config;
import dev.conduit.server.AddressRanges;
import java.time.Duration;
import java.util.List;

/** The tunnel relay's limits and timeouts, read from {@code conduit.tunnel} (see tunnel.conf). */
public record TunnelSettings(
    int maxFrameBytes,
    Duration instanceTimeout,
    Duration clientIdleTimeout,
    int maxSessionsPerInstance,
    int rateLimitBurst,
    double rateLimitPerSecond,
    List<String> trustedProxies,
    Duration claimDefaultTtl,
    Duration claimMaxTtl,
    int instanceOutboundBuffer,
    int clientOutboundBytes,
    int inboundBatchBytes,
    Duration frameAssemblyTimeout,
    Duration askTimeout,
    Duration livenessProbeTimeout,
    Duration proofTimeout,
    Duration slowConsumerGrace,
    Duration closeTimeout,
    FieldLimits fieldLimits,
    int crossNodeFramesInFlight) {

  public static TunnelSettings from(Config config) {
    Config c = config.getConfig("conduit.tunnel");
    return new TunnelSettings(
        c.getInt("max-frame-bytes"),
        c.getDuration("instance-timeout"),
        c.getDuration("client-idle-timeout"),
        c.getInt("max-sessions-per-instance"),
        c.getInt("rate-limit.burst"),
        c.getDouble("rate-limit.per-second"),
        AddressRanges.split(c.getString("trusted-proxies")),
        c.getDuration("claims.default-ttl"),
        c.getDuration("claims.max-ttl"),
        c.getInt("instance-outbound-buffer"),
        (int) c.getBytes("client-outbound-bytes").longValue(),
        (int) c.getBytes("inbound-batch-bytes").longValue(),
        c.getDuration("frame-assembly-timeout"),
        c.getDuration("ask-timeout"),
        c.getDuration("liveness-probe-timeout"),
        c.getDuration("proof-timeout"),
        c.getDuration("slow-consumer-grace"),
        c.getDuration("close-timeout"),
        FieldLimits.from(c),
        c.getInt("cross-node-frames-in-flight"));
  }
}
