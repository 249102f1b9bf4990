package dev.conduit.tunnel;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Relay protocol version negotiation: Conduit speaks 1.0 and 1.1 and accepts any 1.x a peer offers. 1.1
 * adds the possession proof on register ({@link PossessionProof}); an instance that offers "1.1" is challenged.
 */
final class RelayVersion {
  static final String CURRENT = "1.0";
  static final String POSSESSION_PROOF = "1.1";
  private static final String SUPPORTED_MAJOR = "1";

  private RelayVersion() {}

  /** True when protocolVersions (a register's object, may be null) lists exactly this relay_protocol version. */
  static boolean offers(JsonNode protocolVersions, String version) {
    JsonNode offered = protocolVersions == null ? null : protocolVersions.get("relay_protocol");
    if (offered == null || !offered.isArray()) {
      return false;
    }
    for (JsonNode v : offered) {
      if (v.isTextual() && v.asText().equals(version)) {
        return true;
      }
    }
    return false;
  }

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
