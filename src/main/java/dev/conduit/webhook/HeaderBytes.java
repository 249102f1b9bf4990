package dev.conduit.webhook;

import java.nio.charset.StandardCharsets;

/**
 * Header values as bytes. A stored (and forwarded) header value is a "byte string": one char per byte,
 * U+0000..U+00FF, i.e. the value's bytes read as ISO-8859-1, so that it maps 1:1 to the bytes that arrived.
 *
 * <p>Values are taken from the request head as sent ({@code server.RawRequestHead}), never from
 * pekko-http's model: pekko-http hands header values over already decoded, and its decoder is not
 * reversible in general (pekko-http 1.3, {@code HttpHeaderParser.scanHeaderValue}: a byte that starts a
 * UTF-8 sequence but does not decode is copied together with the next one to three bytes, which is how a
 * lone {@code 0xE9} before CRLF swallows the line end and the next header). A raw value must only be
 * UTF-8 text ({@link #isUtf8Text}).
 */
public final class HeaderBytes {
  /**
   * Joins the values of a header sent on several lines, in the order sent, in one stored value (and in the
   * envelope's header map). A field value never contains LF (RFC 9110 5.5), so the hub client can split
   * it back into one header line per value.
   */
  public static final String LINE_SEPARATOR = "\n";

  private HeaderBytes() {}

  /**
   * The headers with each repeated header's values joined with ", " instead of {@link #LINE_SEPARATOR}: the
   * combined field value of RFC 9110 5.3, which is what signature libraries are given by their frameworks.
   */
  public static java.util.Map<String, String> combined(java.util.Map<String, String> headers) {
    java.util.Map<String, String> combined = new java.util.TreeMap<>();
    headers.forEach((name, value) -> combined.put(name, value.replace(LINE_SEPARATOR, ", ")));
    return combined;
  }

  /**
   * True when a byte string is UTF-8 text without control characters (HTAB allowed): what a header value
   * taken from the raw request head must be to be stored. ASCII and every UTF-8 character are accepted,
   * U+0080..U+00FF included; a byte that is not UTF-8 is not, because pekko-http's parser reads such a
   * value differently from its bytes (see the class comment) and may have framed the request differently.
   */
  public static boolean isUtf8Text(String byteString) {
    byte[] bytes = toBytes(byteString);
    for (byte b : bytes) {
      if ((b >= 0 && b < 0x20 && b != '\t') || b == 0x7F) {
        return false;
      }
    }
    try {
      java.nio.charset.StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes));
      return true;
    } catch (java.nio.charset.CharacterCodingException e) {
      return false;
    }
  }


  /** A byte string made from text (UTF-8 encoded): how values stored before byte strings are forwarded. */
  public static String fromText(String text) {
    return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
  }

  /** The bytes a byte string stands for; chars above U+00FF (not a byte string) are an IllegalArgumentException. */
  public static byte[] toBytes(String byteString) {
    byte[] bytes = new byte[byteString.length()];
    for (int i = 0; i < bytes.length; i++) {
      char c = byteString.charAt(i);
      if (c > 0xFF) {
        throw new IllegalArgumentException("not a byte string: char U+" + Integer.toHexString(c) + " at " + i);
      }
      bytes[i] = (byte) c;
    }
    return bytes;
  }
}
