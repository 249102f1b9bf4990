package dev.conduit.tunnel;

import com.typesafe.config.Config;

/**
 * Bounds on what an instance may make the relay keep for it (see tunnel.conf and the README's
 * "Security" section): everything here is held for as long as the instance is registered, and its
 * direct URLs also for {@code conduit.entity-idle-timeout} after it went offline (its last status, kept
 * by its {@link InstanceLocation}). Over a bound, the frame is
 * refused with {@code invalid_field}.
 *
 * @param maxDirectUrls            entries in {@code direct_urls} (register and update_urls)
 * @param maxDirectUrlLength       characters per direct URL
 * @param maxProtocolVersionsChars characters of the {@code protocol_versions} object as JSON (kept and
 *                                 echoed to every client of the instance)
 * @param maxRequestIdChars        characters of a {@code create_claim}'s {@code request_id} as JSON (echoed)
 */
public record FieldLimits(int maxDirectUrls, int maxDirectUrlLength, int maxProtocolVersionsChars,
                          int maxRequestIdChars) {

  /** Reads the limits from the {@code conduit.tunnel} section. */
  public static FieldLimits from(Config tunnel) {
    return new FieldLimits(tunnel.getInt("max-direct-urls"), tunnel.getInt("max-direct-url-length"),
        tunnel.getInt("max-protocol-versions-length"), tunnel.getInt("max-request-id-length"));
  }
}
