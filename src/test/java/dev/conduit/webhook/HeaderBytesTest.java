package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HeaderBytesTest {

  @Test
  void asciiIsKeptAsIs() {
    assertEquals(Optional.of("sha256=abc, x/y; q=\"1\""), HeaderBytes.exact("sha256=abc, x/y; q=\"1\""));
  }

  @Test
  void utf8AboveLatin1BecomesItsUtf8Bytes() {
    String rocket = "deploy \uD83D\uDE80";
    String stored = HeaderBytes.exact(rocket).orElseThrow();
    assertArrayEquals(rocket.getBytes(StandardCharsets.UTF_8), HeaderBytes.toBytes(stored));
    assertEquals("deploy \u00f0\u009f\u009a\u0080", stored);
  }

  @Test
  void whatPekkoMayHaveCopiedFromUndecodableBytesIsRefused() {
    // 0xE9 before CRLF as pekko-http 1.3 hands it over: sign-extended, with the next line swallowed.
    assertEquals(Optional.empty(), HeaderBytes.exact("caf\uFFE9\r\nX-Hub-Signature-256: sha256=00"));
    // The same byte after a (leading) tab: indistinguishable from a decoded U+00E9.
    assertEquals(Optional.empty(), HeaderBytes.exact("caf\u00e9 x"));
    assertEquals(Optional.empty(), HeaderBytes.exact("a\u0085b"));
    assertEquals(Optional.empty(), HeaderBytes.exact("bell\u0007"));
    assertEquals(Optional.empty(), HeaderBytes.exact("\uFF80"));
  }

  @Test
  void toBytesRefusesWhatIsNotAByteString() {
    assertArrayEquals(new byte[] {'c', (byte) 0xE9}, HeaderBytes.toBytes("c\u00e9"));
    assertThrows(IllegalArgumentException.class, () -> HeaderBytes.toBytes("\u0100"));
  }

  @Test
  void rawValuesMustBeUtf8TextWithoutControlCharacters() {
    assertTrue(HeaderBytes.isUtf8Text("caf\u00c3\u00a9 \u00f0\u009f\u009a\u0080\ttab"));
    assertFalse(HeaderBytes.isUtf8Text("caf\u00e9"), "a lone 0xE9 is not UTF-8");
    assertFalse(HeaderBytes.isUtf8Text("a\u0000b"));
    assertFalse(HeaderBytes.isUtf8Text("a\rb"));
    assertFalse(HeaderBytes.isUtf8Text("a\u007fb"));
  }

  @Test
  void repeatedValuesAreCombinedWithCommasForVerification() {
    assertEquals(java.util.Map.of("x-sig", "v1,a, v1,b", "x-one", "z"),
        HeaderBytes.combined(java.util.Map.of("x-sig", "v1,a\nv1,b", "x-one", "z")));
  }
}
