package dev.conduit.logging;

import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import java.util.ArrayList;
import java.util.List;

/**
 * The stack trace of every log line (logback.xml: {@code %safeEx{maxMessageLength}}): logback's own
 * rendering (one line per frame, "Caused by:", suppressed), but each exception's message, which may
 * carry peer input (a parser quoting what it could not parse), is capped at maxMessageLength
 * characters, credentials masked and control characters escaped ({@link LogSafety}, as
 * {@link SafeMessageConverter} does for the message), so an exception's text cannot start a forged
 * log line or write terminal escapes. Only the line breaks between frames are logback's own.
 *
 * <p>Every pattern must name it: a pattern without a throwable converter gets logback's unescaped
 * one appended.
 */
public final class SafeThrowableConverter extends ThrowableProxyConverter {
  /** Used when logback.xml gives no option; the shipped logback.xml always does. */
  private static final int FALLBACK_MAX_MESSAGE_LENGTH = 8192;

  private int maxMessageLength = FALLBACK_MAX_MESSAGE_LENGTH;

  @Override
  public void start() {
    // Our option comes first; logback's own options (depth, evaluators) may follow it.
    List<String> options = getOptionList();
    if (options != null && !options.isEmpty()) {
      maxMessageLength = Integer.parseInt(options.get(0).trim());
      setOptionList(new ArrayList<>(options.subList(1, options.size())));
    }
    super.start();
  }

  @Override
  protected String throwableProxyToString(IThrowableProxy proxy) {
    return super.throwableProxyToString(new Escaped(proxy, maxMessageLength));
  }

  /** A throwable as logback sees it, with its message, and those of its causes and suppressed, made safe. */
  private record Escaped(IThrowableProxy proxy, int maxMessageLength) implements IThrowableProxy {
    @Override
    public String getMessage() {
      String message = proxy.getMessage();
      return message == null ? null
          : LogSafety.escapeControls(LogSafety.redact(LogSafety.cap(message, maxMessageLength)));
    }

    @Override
    public String getClassName() {
      return LogSafety.escapeControls(proxy.getClassName());
    }

    @Override
    public StackTraceElementProxy[] getStackTraceElementProxyArray() {
      return proxy.getStackTraceElementProxyArray();
    }

    @Override
    public int getCommonFrames() {
      return proxy.getCommonFrames();
    }

    @Override
    public IThrowableProxy getCause() {
      IThrowableProxy cause = proxy.getCause();
      return cause == null ? null : new Escaped(cause, maxMessageLength);
    }

    @Override
    public IThrowableProxy[] getSuppressed() {
      IThrowableProxy[] suppressed = proxy.getSuppressed();
      if (suppressed == null) {
        return null;
      }
      IThrowableProxy[] escaped = new IThrowableProxy[suppressed.length];
      for (int i = 0; i < suppressed.length; i++) {
        escaped[i] = new Escaped(suppressed[i], maxMessageLength);
      }
      return escaped;
    }

    @Override
    public boolean isCyclic() {
      return proxy.isCyclic();
    }
  }
}
