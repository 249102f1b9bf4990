package dev.conduit.tunnel;

import java.util.Base64;
import java.util.Optional;

/**
 * Standard base64 as the protocol uses it. Payloads are only validated (never decoded) so the relay
 * can forward them as they came; keys are decoded.
 */
final class Base64Payload {
  /** The standard alphabet by character code; a table keeps the per-character check branch-free. */
  private static final boolean[] ALPHABET = new boolean[128];

  static {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < alphabet.length(); i++) {
      ALPHABET[alphabet.charAt(i)] = true;
    }
  }

  private Base64Payload() {}

  /** True when s is well-formed standard base64 with padding (the empty string included). */
  static boolean isValid(String s) {
    int n = s.length();
    if (n % 4 != 0) {
      return false;
    }
    int padding = n > 0 && s.charAt(n - 1) == '=' ? (n > 1 && s.charAt(n - 2) == '=' ? 2 : 1) : 0;
    boolean valid = true;
    for (int i = 0, end = n - padding; i < end; i++) {
      char c = s.charAt(i);
      valid &= c < ALPHABET.length && ALPHABET[c];
    }
    return valid;
  }

  /** isValid for the bytes from..to of data (ASCII; any other byte is invalid). */
  static boolean isValid(byte[] data, int from, int to) {
    int n = to - from;
    if (n % 4 != 0) {
      return false;
    }
    int padding = n > 0 && data[to - 1] == '=' ? (n > 1 && data[to - 2] == '=' ? 2 : 1) : 0;
    boolean valid = true;
    for (int i = from, end = to - padding; i < end; i++) {
      byte c = data[i];
      valid &= c >= 0 && ALPHABET[c];
    }
    return valid;
  }

  static Optional<byte[]> decode(String s) {
    if (!isValid(s)) {
      return Optional.empty();
    }
    return Optional.of(Base64.getDecoder().decode(s));
  }
}
