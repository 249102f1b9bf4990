package dev.conduit.hub.connect;

import com.typesafe.config.Config;

/**
 * The Connect transport's limits, from {@code conduit.hub.connect} (see webhook.conf).
 *
 * @param maxMessageBytes  largest message a hub may send in one envelope (after decompression), in bytes;
 *                         a larger one ends the stream with {@code resource_exhausted}
 * @param compressMinBytes with gzip negotiated, messages to the hub of at least this many bytes are compressed
 */
public record ConnectSettings(int maxMessageBytes, int compressMinBytes) {

  public static ConnectSettings from(Config config) {
    Config c = config.getConfig("conduit.hub.connect");
    return new ConnectSettings(c.getInt("max-message-bytes"), c.getInt("compress-min-bytes"));
  }
}
