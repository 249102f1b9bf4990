package dev.conduit.bench;

import java.nio.file.Path;
import java.util.Map;

/**
 * Conduit's environment for the tunnel benchmarks: the defaults, except the per-IP limits, which
 * exist against abuse from one address and would otherwise refuse a load generator that is one address.
 */
final class TunnelBenchEnv {
  private static final String UNLIMITED = "1000000";

  private TunnelBenchEnv() {}

  static Map<String, String> of(Path runDir) {
    return Map.of(
        "CONDUIT_DATA_DIR", runDir.resolve("data").toString(),
        "CONDUIT_MAX_CONNECTIONS_PER_ADDRESS", UNLIMITED,
        "CONDUIT_TUNNEL_RATE_LIMIT_BURST", UNLIMITED,
        "CONDUIT_TUNNEL_RATE_LIMIT_PER_SECOND", UNLIMITED);
  }
}
