package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HeaderBytesTest {

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
