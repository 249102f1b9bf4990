package dev.conduit.logging;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.util.Arrays;
import java.util.List;
import org.slf4j.helpers.MessageFormatter;

/**
 * The message of every log line (logback.xml: {@code %safeMsg{maxValueLength,maxMessageLength}}):
 * each argument is capped at maxValueLength characters before it is put into the message, a message
 * without arguments (e.g. one pekko formatted itself) is capped at maxMessageLength, control
 * characters are escaped and credentials masked ({@link LogSafety}). Doing it here, once, covers every
 * logger, ours and the libraries', so no call site has to remember.
 */
public final class SafeMessageConverter extends MessageConverter {
  /** Used when logback.xml gives no option; the shipped logback.xml always does. */
  private static final int FALLBACK_MAX_VALUE_LENGTH = 512;
  private static final int FALLBACK_MAX_MESSAGE_LENGTH = 8192;

  private int maxValueLength = FALLBACK_MAX_VALUE_LENGTH;
  private int maxMessageLength = FALLBACK_MAX_MESSAGE_LENGTH;

  @Override
  public void start() {
    List<String> options = getOptionList();
    if (options != null && !options.isEmpty()) {
      maxValueLength = Integer.parseInt(options.get(0).trim());
      if (options.size() > 1) {
        maxMessageLength = Integer.parseInt(options.get(1).trim());
      }
    }
    super.start();
  }

  @Override
  public String convert(ILoggingEvent event) {
    Object[] args = event.getArgumentArray();
    String message;
    if (args == null || args.length == 0) {
      message = LogSafety.cap(String.valueOf(event.getFormattedMessage()), maxMessageLength);
    } else {
      Object[] capped = new Object[args.length];
      for (int i = 0; i < args.length; i++) {
        capped[i] = LogSafety.cap(render(args[i]), maxValueLength);
      }
      message = MessageFormatter.basicArrayFormat(event.getMessage(), capped);
    }
    return LogSafety.escapeControls(LogSafety.redact(message));
  }

  private static String render(Object arg) {
    if (arg instanceof Object[] array) {
      return Arrays.deepToString(array);
    }
    return String.valueOf(arg);
  }
}
