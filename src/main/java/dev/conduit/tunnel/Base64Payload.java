package dev.conduit.tunnel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
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
    int end = to - padding;
    int i = from;
    // Eight bytes a step (JFR showed the byte-by-byte lookup as the largest item of the data path at 1 KiB).
    long bad = 0;
    for (; i + Long.BYTES <= end; i += Long.BYTES) {
      bad |= notInAlphabet((long) LONGS.get(data, i));
    }
    boolean valid = bad == 0;
    for (; i < end; i++) {
      byte c = data[i];
      valid &= c >= 0 && ALPHABET[c];
    }
    return valid;
  }

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  /** The top bit of each of the eight bytes of a long. */
  private static final long HIGH = 0x8080808080808080L;

  /** c in each of the eight bytes of a long. */
  private static long each(int c) {
    return c * 0x0101010101010101L;
  }

  /**
   * Nonzero when any of the eight bytes of word is outside the base64 alphabet. For a byte x below 0x80,
   * {@code x + (0x80 - lo)} has its top bit set exactly when x >= lo and cannot carry into the next byte;
   * a byte of 0x80 or more is caught by its own top bit (its carry may spoil its neighbour's verdict, but
   * the word is refused anyway).
   */
  private static long notInAlphabet(long word) {
    long plus = (word + each(0x80 - '+')) & ~(word + each(0x80 - '+' - 1));
    long digitsAndSlash = (word + each(0x80 - '/')) & ~(word + each(0x80 - '9' - 1));
    long upper = (word + each(0x80 - 'A')) & ~(word + each(0x80 - 'Z' - 1));
    long lower = (word + each(0x80 - 'a')) & ~(word + each(0x80 - 'z' - 1));
    long inAlphabet = (plus | digitsAndSlash | upper | lower) & HIGH;
    return (word & HIGH) | (inAlphabet ^ HIGH);
  }

  static Optional<byte[]> decode(String s) {
    if (!isValid(s)) {
      return Optional.empty();
    }
    return Optional.of(Base64.getDecoder().decode(s));
  }
}
