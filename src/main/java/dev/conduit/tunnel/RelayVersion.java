package dev.conduit.tunnel;

import com.fasterxml.jackson.databind.JsonNode;

/** Relay protocol version negotiation: Conduit speaks 1.0 and accepts any 1.x a peer offers. */
final class RelayVersion {
  static final String CURRENT = "1.0";
  private static final String SUPPORTED_MAJOR = "1";

  private RelayVersion() {}

  /** True when the array of "MAJOR.MINOR" strings offers major 1. */
  static boolean supportsAnyOf(JsonNode offered) {
    if (offered == null || !offered.isArray()) {
      return false;
    }
    for (JsonNode version : offered) {
      if (version.isTextual() && version.asText().split("\\.", 2)[0].equals(SUPPORTED_MAJOR)) {
        return true;
      }
    }
    return false;
  }
}
