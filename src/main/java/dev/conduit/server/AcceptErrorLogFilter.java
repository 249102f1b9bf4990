package dev.conduit.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.time.Duration;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Pekko's TCP listener logs every failed accept with a stack trace, and when the process is out of
 * file descriptors it retries at once: hundreds of thousands of stack traces a minute. This logback
 * filter (logback.xml) drops those lines and logs one concise line per interval instead, with the
 * count and the error, through the same {@link LogThrottle} rule as every other repeated condition.
 * The interval is conduit.connections.log-interval, set at start-up ({@link #interval}).
 */
public final class AcceptErrorLogFilter extends TurboFilter {
  private static final String SOURCE = "org.apache.pekko.io.TcpListener";
  private static final String MESSAGE = "Accept error";

  private static volatile LogThrottle throttle = new LogThrottle(Duration.ofSeconds(10), System::nanoTime);

  /** Sets the interval (from conduit.connections.log-interval). */
  public static void interval(Duration interval) {
    throttle = new LogThrottle(interval, System::nanoTime);
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format == null || !logger.getName().startsWith(SOURCE) || !format.startsWith(MESSAGE)) {
      return FilterReply.NEUTRAL;
    }
    throttle.occurrence("accept").ifPresent(count ->
        // Looked up here, not in a static field: this class is built while logging itself starts up.
        LoggerFactory.getLogger(AcceptErrorLogFilter.class).error("accept failed count={} error={}", count, t == null ? format : t.toString()));
    return FilterReply.DENY;
  }
}
