package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The word-at-a-time checks of the data path give the verdicts of a byte-by-byte check: every byte value
 * at every position of a word and of the tail, and random inputs at every offset.
 */
class ByteChecksTest {
  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  private static final long SEED = 10;

  /** The byte-by-byte reference: the String check (a byte is the char of its unsigned value). */
  private static boolean reference(byte[] data, int from, int to) {
    return Base64Payload.isValid(new String(data, from, to - from, StandardCharsets.ISO_8859_1));
  }

  @Test
  void everyByteValueAtEveryPositionGetsTheByteByByteVerdict() {
    byte[] valid = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY".getBytes(StandardCharsets.US_ASCII); // 32 bytes, 4 words
    for (int pos = 0; pos < valid.length; pos++) {
      for (int b = 0; b < 256; b++) {
        byte[] data = valid.clone();
        data[pos] = (byte) b;
        // Offsets 0 and 1 put the byte in different lanes and the end of the data in the tail loop.
        for (int from = 0; from <= 4; from += 4) {
          int to = data.length - (from == 0 ? 0 : 4);
          if (pos >= from && pos < to) {
            assertEquals(reference(data, from, to), Base64Payload.isValid(data, from, to),
                "byte " + b + " at " + pos + " in " + from + ".." + to);
          }
        }
        assertEquals(b < 0x80, WholeFrames.isAscii(data), "byte " + b + " at " + pos);
      }
    }
  }

  @Test
  void randomPayloadsAtRandomOffsetsGetTheByteByByteVerdict() {
    Random random = new Random(SEED);
    int invalid = 0;
    for (int round = 0; round < 20_000; round++) {
      int length = random.nextInt(40) * 4;
      byte[] data = new byte[length + 8];
      for (int i = 0; i < data.length; i++) {
        data[i] = (byte) ALPHABET.charAt(random.nextInt(ALPHABET.length()));
      }
      int from = random.nextInt(5);
      int to = from + length;
      if (length > 0 && random.nextBoolean()) {
        data[to - 1] = '=';
        if (random.nextBoolean()) {
          data[to - 2] = '=';
        }
      }
      if (length > 0 && random.nextInt(3) == 0) {
        data[from + random.nextInt(length)] = (byte) random.nextInt(256);
      }
      boolean expected = reference(data, from, to);
      invalid += expected ? 0 : 1;
      assertEquals(expected, Base64Payload.isValid(data, from, to), "round " + round);
    }
    assertTrue(invalid > 1000, "the inputs include invalid ones: " + invalid);
  }

  @Test
  void asciiIsCheckedInTheTailToo() {
    assertTrue(WholeFrames.isAscii(new byte[0]));
    assertTrue(WholeFrames.isAscii("{\"type\":\"ping\"}".getBytes(StandardCharsets.US_ASCII)));
    assertFalse(WholeFrames.isAscii("{\"x\":\"é\"}".getBytes(StandardCharsets.UTF_8)));
  }
}
