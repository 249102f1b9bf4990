package dev.conduit.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.Arrays;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.MarkerFactory;

/**
 * One job: a log line that can repeat thousands of times a second is logged once per interval with a
 * count, through the relay's {@link LogThrottle} (conduit.connections.log-interval), so a flood of bad
 * input or a resource exhaustion cannot drown the log. It recognises such lines two ways:
 * <ul>
 *   <li>Lines logged with the marker {@link #REPEATABLE}, by our code that pekko instantiates itself
 *   (such as {@link JsonParsingErrorHandler}, which cannot be handed a throttle): per logger, message and
 *   first argument (a bounded key, e.g. the status code), the first line of an interval is logged with
 *   {@code count=N} appended, the others are counted.</li>
 *   <li>Pekko's own TCP listener, whose code we cannot mark: it logs every failed accept with a stack
 *   trace, and when the process is out of file descriptors it retries at once, hundreds of thousands of
 *   stack traces a minute. Those lines are dropped and one {@code accept failed count= error=} line per
 *   interval stands for them.</li>
 * </ul>
 * Like logback's own {@code DuplicateMessageFilter}, but counting per interval instead of suppressing
 * after a fixed number. The wiring builds one per relay with its throttle and {@link #install}s it into
 * logback; it is removed when the relay stops. Without one (no relay running), REPEATABLE lines are
 * logged each time.
 */
public final class RepeatedLogFilter extends TurboFilter {
  /** Marks a line to be logged once per interval, keyed by logger, message and its first argument. */
  public static final Marker REPEATABLE = MarkerFactory.getMarker("REPEATABLE");
  /** Marks the line this filter logs for a REPEATABLE one, so that it passes. */
  private static final Marker SUMMARY = MarkerFactory.getMarker("REPEATABLE_SUMMARY");
  private static final String SOURCE = "org.apache.pekko.io.TcpListener";
  private static final String MESSAGE = "Accept error";

  private final LogThrottle throttle;

  public RepeatedLogFilter(LogThrottle throttle) {
    this.throttle = throttle;
  }

  /**
   * Adds filter to logback's context (when logback is the logging backend); the returned handle removes
   * it. Several relays in one JVM (the tests) each add their own: the first one added answers.
   */
  public static Runnable install(RepeatedLogFilter filter) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext context)) {
      return () -> {};
    }
    filter.setContext(context);
    filter.start();
    context.addTurboFilter(filter);
    return () -> context.getTurboFilterList().remove(filter);
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format == null || marker == SUMMARY) {
      return FilterReply.NEUTRAL;
    }
    if (marker == REPEATABLE) {
      String key = logger.getName() + " " + format + " " + (params == null || params.length == 0 ? "" : params[0]);
      throttle.occurrence(key).ifPresent(count -> {
        Object[] withCount = params == null ? new Object[1] : Arrays.copyOf(params, params.length + 1);
        withCount[withCount.length - 1] = count;
        logger.log(SUMMARY, Logger.FQCN, Level.toLocationAwareLoggerInteger(level), format + " count={}",
            withCount, t);
      });
      return FilterReply.DENY;
    }
    if (!logger.getName().startsWith(SOURCE) || !format.startsWith(MESSAGE)) {
      return FilterReply.NEUTRAL;
    }
    throttle.occurrence("accept").ifPresent(count ->
        LoggerFactory.getLogger(RepeatedLogFilter.class).error("accept failed count={} error={}", count,
            t == null ? format : t.toString()));
    return FilterReply.DENY;
  }
}
