package dev.conduit.hub.connect;

import com.typesafe.config.Config;

/**
 * The Connect transport's limits. Message sizes are the hub stream's own ({@code conduit.hub}, the same
 * caps gRPC hubs get): the first message of a stream is the unauthenticated connect, so anyone on the
 * network can send it, and its small cap bounds what they can make the edge hold.
 *
 * @param maxFirstMessageBytes largest first message (the connect), in bytes, checked from its envelope
 *                             header before it is buffered; larger ends the stream with {@code resource_exhausted}
 * @param maxMessageBytes      largest later message (after decompression), in bytes; likewise
 * @param compressMinBytes     with gzip negotiated, messages to the hub of at least this many bytes are compressed
 */
public record ConnectSettings(int maxFirstMessageBytes, int maxMessageBytes, int compressMinBytes) {

  public static ConnectSettings from(Config config) {
    Config hub = config.getConfig("conduit.hub");
    return new ConnectSettings((int) hub.getBytes("max-first-message-bytes").longValue(),
        (int) hub.getBytes("max-message-bytes").longValue(), hub.getInt("connect.compress-min-bytes"));
  }
}
