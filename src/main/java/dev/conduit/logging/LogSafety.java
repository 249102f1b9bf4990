package dev.conduit.logging;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What makes a log line safe to write, as pure functions (applied once, by {@link SafeMessageConverter},
 * to every message): a peer-supplied value is capped in length, no control character survives (so no
 * value can start a forged log line), and credentials that slipped into a message are masked.
 */
public final class LogSafety {
  /** Replaces a masked credential. */
  public static final String REDACTED = "[redacted]";

  /**
   * Header names (and config-like keys) whose values are credentials: the admin bearer token, hub and
   * provider signatures, endpoint secrets. Followed by ':' or '=' and a value, the value is masked.
   */
  private static final List<String> CREDENTIAL_NAMES = List.of("proxy-authorization", "authorization",
      "x-hub-signature-256", "x-hub-signature", "stripe-signature", "x-telegram-bot-api-secret-token",
      "x-webhook-signature", "webhook-signature", "secret", "password");
  /** HTTP auth schemes, whose credentials are masked wherever they appear. */
  private static final List<String> AUTH_SCHEMES = List.of("bearer", "basic", "digest");
  private static final Pattern CREDENTIAL_FIELD = Pattern.compile(
      "(?i)\\b(" + String.join("|", CREDENTIAL_NAMES) + ")"
          + "(['\"]?\\s*[:=]\\s*)(\"[^\"]*\"|'[^']*'|(?:(?:" + String.join("|", AUTH_SCHEMES) + ")\\s+)?[^\\s;}]+)");
  /** An HTTP auth scheme and its credentials, wherever they appear (e.g. pekko-http quoting a raw header). */
  private static final Pattern AUTH_SCHEME = Pattern.compile(
      "(?i)\\b(" + String.join("|", AUTH_SCHEMES) + ")(\\s+)[^\\s,;]+");

  private LogSafety() {}

  /**
   * s with every ISO control character, and the Unicode line and paragraph separators, written as an
   * escape: {@code \n}, {@code \r}, {@code \t}, else {@code \}{@code uXXXX}. Backslashes are left alone.
   */
  public static String escapeControls(String s) {
    int i = 0;
    while (i < s.length() && !needsEscape(s.charAt(i))) {
      i++;
    }
    if (i == s.length()) {
      return s;
    }
    StringBuilder out = new StringBuilder(s.length() + 16).append(s, 0, i);
    for (; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (needsEscape(c)) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }

  /** s cut to max characters, with a marker saying how many were dropped; unchanged when it fits. */
  public static String cap(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    int keep = Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max;
    return s.substring(0, keep) + "…(+" + (s.length() - keep) + " chars)";
  }

  /**
   * The lower-case words one of which every match of {@link #CREDENTIAL_FIELD} or {@link #AUTH_SCHEME}
   * contains (both patterns are ASCII case-insensitive, and built from these lists). A message with none
   * of them has nothing to mask: checked first, because the patterns try every position of every message
   * and most lines (one per received webhook, say) have no credential in them.
   */
  private static final List<String> CREDENTIAL_WORDS =
      Stream.concat(CREDENTIAL_NAMES.stream(), AUTH_SCHEMES.stream()).toList();

  /** s with the values of credential headers and fields, and auth-scheme credentials, masked. */
  public static String redact(String s) {
    String lower = s.toLowerCase(Locale.ROOT);
    if (CREDENTIAL_WORDS.stream().noneMatch(lower::contains)) {
      return s;
    }
    String masked = CREDENTIAL_FIELD.matcher(s).replaceAll(m ->
        Matcher.quoteReplacement(m.group(1) + m.group(2) + REDACTED));
    return AUTH_SCHEME.matcher(masked).replaceAll(m ->
        REDACTED.equals(m.group()) ? m.group() : Matcher.quoteReplacement(m.group(1) + m.group(2) + REDACTED));
  }

  private static boolean needsEscape(char c) {
    return Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
  }
}
