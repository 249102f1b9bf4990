package dev.conduit.server;

import org.apache.pekko.util.ByteString;

/**
 * On the bytes a peer sends to a plaintext port, before pekko-http reads them: a connection whose first
 * bytes are a TLS record header of a handshake (0x16, then version major 0x03: a ClientHello) is a
 * client that expects TLS. pekko-http would answer it with an HTTP/2 protocol error or a 400 that the
 * client cannot read, and log nothing useful; here onTlsHandshake runs (for a log line) and the stage
 * completes, which closes the connection. Anything else passes unchanged, and after the first two
 * bytes the stage only forwards.
 */
public final class PlaintextPortGuard extends OpeningBytes {
  /** TLS record content type "handshake" and the major version every TLS (and SSL 3) record carries. */
  private static final byte HANDSHAKE = 0x16;
  private static final byte TLS_MAJOR_VERSION = 0x03;
  private static final int PREFIX = 2;

  public PlaintextPortGuard(Runnable onTlsHandshake) {
    super(bytes -> bytes.size() < PREFIX, PlaintextPortGuard::startsLikeTls, onTlsHandshake);
  }

  /** Whether bytes (at least two) start like a TLS handshake record. */
  public static boolean startsLikeTls(ByteString bytes) {
    return bytes.size() >= PREFIX && bytes.apply(0) == HANDSHAKE && bytes.apply(1) == TLS_MAJOR_VERSION;
  }
}
