package dev.conduit.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** Byte- and string-level mutations shared by the corpora. Pure functions of the random stream. */
final class Mutations {
  private Mutations() {}

  /** JSON values of every type but string, for "wrong type" mutations. */
  static final List<String> NON_STRINGS = List.of("0", "-1", "1.5e308", "true", "false", "null", "[]", "[\"a\"]",
      "{}", "{\"a\":1}", "123456789012345678901234567890");

  /** Strings that are not standard padded base64. */
  static final List<String> BAD_BASE64 = List.of("@@@@", "abc", "a===", "====", "aGk", "aGk=\n", "aG k=", "aGk=aGk=",
      "-_-_", "\u00e9\u00e9\u00e9\u00e9", "aGk=====", "YQ", "*");

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String randomAscii(SplittableRandom random, int length) {
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append((char) (0x21 + random.nextInt(0x5e)));
    }
    return s.toString();
  }

  /** Letters and digits only: safe inside a JSON string, a URL path segment and a header. */
  static String randomToken(SplittableRandom random, int length) {
    String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return s.toString();
  }

  static byte[] randomBytes(SplittableRandom random, int length) {
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    return bytes;
  }

  static <T> T pick(SplittableRandom random, List<T> values) {
    return values.get(random.nextInt(values.size()));
  }

  /** One of: flip bits, truncate, insert junk, delete a span, duplicate a span, overwrite a byte. */
  static byte[] mutate(SplittableRandom random, byte[] input) {
    byte[] data = input.clone();
    int n = data.length;
    switch (random.nextInt(6)) {
      case 0 -> {
        int flips = 1 + random.nextInt(4);
        for (int i = 0; i < flips && n > 0; i++) {
          data[random.nextInt(n)] ^= (byte) (1 << random.nextInt(8));
        }
        return data;
      }
      case 1 -> {
        return Arrays.copyOf(data, n == 0 ? 0 : random.nextInt(n));
      }
      case 2 -> {
        int at = random.nextInt(n + 1);
        byte[] junk = randomBytes(random, 1 + random.nextInt(8));
        return splice(data, at, at, junk);
      }
      case 3 -> {
        int from = random.nextInt(n + 1);
        int to = Math.min(n, from + 1 + random.nextInt(8));
        return splice(data, from, to, new byte[0]);
      }
      case 4 -> {
        int from = random.nextInt(n + 1);
        int to = Math.min(n, from + 1 + random.nextInt(16));
        return splice(data, to, to, Arrays.copyOfRange(data, from, to));
      }
      default -> {
        if (n > 0) {
          int[] structural = {'{', '}', '"', ',', ':', '\\', '[', ']', 0, 0xff};
          data[random.nextInt(n)] = (byte) structural[random.nextInt(structural.length)];
        }
        return data;
      }
    }
  }

  static byte[] splice(byte[] data, int from, int to, byte[] insert) {
    byte[] out = new byte[data.length - (to - from) + insert.length];
    System.arraycopy(data, 0, out, 0, from);
    System.arraycopy(insert, 0, out, from, insert.length);
    System.arraycopy(data, to, out, from + insert.length, data.length - to);
    return out;
  }
}
