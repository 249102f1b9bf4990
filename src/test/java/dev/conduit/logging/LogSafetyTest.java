package dev.conduit.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The pure rules the log converter applies to every message. */
class LogSafetyTest {
  @Test
  void controlCharactersAreEscapedSoNoValueStartsALine() {
    assertEquals("a\\nINFO forged", LogSafety.escapeControls("a\nINFO forged"));
    assertEquals("a\\r\\nb\\tc\\u001b[31m\\u0000\\u2028", LogSafety.escapeControls("a\r\nb\tc\u001b[31m\u0000\u2028"));
    assertEquals("caf\u00e9 \\ plain", LogSafety.escapeControls("caf\u00e9 \\ plain"));
  }

  @Test
  void longValuesAreCutWithACount() {
    assertEquals("abc", LogSafety.cap("abc", 3));
    assertEquals("ab…(+2 chars)", LogSafety.cap("abcd", 2));
  }

  @Test
  void credentialsAreMasked() {
    assertEquals("Authorization: [redacted]", LogSafety.redact("Authorization: Bearer tok!#?en"));
    assertEquals("Illegal 'authorization' header: Bearer [redacted] (line 1)",
        LogSafety.redact("Illegal 'authorization' header: Bearer tok!#?en (line 1)"));
    assertEquals("x-hub-signature-256=[redacted] stripe-signature: [redacted]",
        LogSafety.redact("x-hub-signature-256=sha256=abc, stripe-signature: t=1,v1=ff"));
    assertEquals("{\"secret\":[redacted]}", LogSafety.redact("{\"secret\":\"gh-secret\"}"));
    assertEquals("webhook received id=1 signature=verified", LogSafety.redact("webhook received id=1 signature=verified"));
    // Each credential word of the patterns, in any case, still masks (the quick check must not skip them).
    assertEquals("PROXY-AUTHORIZATION: [redacted] X-Webhook-Signature=[redacted] Password=[redacted]",
        LogSafety.redact("PROXY-AUTHORIZATION: Basic dXNlcg== X-Webhook-Signature=v1,abc Password=hunter2"));
    assertEquals("x-telegram-bot-api-secret-token: [redacted] webhook-signature: [redacted] x-hub-signature: [redacted]",
        LogSafety.redact("x-telegram-bot-api-secret-token: t0k webhook-signature: v1 x-hub-signature: sha1=ab"));
    assertEquals("peer sent DIGEST [redacted]", LogSafety.redact("peer sent DIGEST username=x"));
  }
}
