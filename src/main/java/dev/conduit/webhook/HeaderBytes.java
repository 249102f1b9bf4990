package dev.conduit.webhook;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Header values as bytes. A stored (and forwarded) header value is a "byte string": one char per byte,
 * U+0000..U+00FF, i.e. the value's bytes read as ISO-8859-1, so that it maps 1:1 to the bytes that arrived.
 *
 * <p>On the HTTP/1.1 port values are taken from the request head as sent ({@code server.RawRequestHead}),
 * and must only be UTF-8 text ({@link #isUtf8Text}). Where no raw head is captured (an HTTP/2 port) they
 * come from pekko-http's model, and {@link #exact} decides whether that can be trusted: pekko-http hands
 * us header values already decoded, and its decoder is not reversible in general
 * (pekko-http 1.3, {@code HttpHeaderParser.scanHeaderValue}): a valid UTF-8 sequence becomes its character;
 * a byte that starts a UTF-8 sequence but does not decode is copied as a char together with the next one
 * to three bytes, whatever they are, which is how a lone {@code 0xE9} before CRLF swallows the line end and
 * the next header. Such a copied byte becomes {@code (char) (byte) b} (U+FF80..U+FFFF) while nothing
 * else in the value needed decoding, and {@code (char) (b & 0xFF)} (U+0080..U+00FF) after that (e.g. after
 * a tab, which pekko-http also turns into a space, even a leading one that is then trimmed away), where
 * it cannot be told from a decoded Latin-1-range character. So only characters that no copied byte can
 * produce are accepted (see {@link #exact}).
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


  /**
   * The bytes of a header value as pekko-http parsed it, as a byte string; empty when pekko-http may have
   * altered them: a control character (a swallowed line end) or a char in U+0080..U+00FF or U+FF80..U+FFFF
   * (possibly a copied undecodable byte, see the class comment). Every other non-ASCII char came from a
   * valid UTF-8 sequence, so encoding the value as UTF-8 gives back the bytes that were sent.
   */
  public static Optional<String> exact(String parsed) {
    boolean ascii = true;
    for (int i = 0; i < parsed.length(); i++) {
      char c = parsed.charAt(i);
      if (c < 0x20 || (c >= 0x80 && c <= 0xFF) || c >= 0xFF80) {
        return Optional.empty();
      }
      ascii &= c < 0x80;
    }
    return Optional.of(ascii ? parsed : fromText(parsed));
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
