package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.spi.FilterReply;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Pekko's accept errors are taken out of the log (and summarised); lines marked REPEATABLE are logged once
 * per interval with a count, by the throttle the filter was built with; everything else passes untouched.
 */
class RepeatedLogFilterTest {
  private static final Duration INTERVAL = Duration.ofSeconds(10);
  private final AtomicLong now = new AtomicLong();

  @Test
  void dropsOnlyTheTcpListenersAcceptErrors() {
    LoggerContext context = new LoggerContext();
    RepeatedLogFilter filter = new RepeatedLogFilter(new LogThrottle(INTERVAL, now::get));
    IOException emfile = new IOException("Too many open files");
    assertEquals(FilterReply.DENY, filter.decide(null, context.getLogger("org.apache.pekko.io.TcpListener"),
        Level.ERROR, "Accept error: could not accept new connection", null, emfile));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("org.apache.pekko.io.TcpListener"),
        Level.ERROR, "Error closing ServerSocketChannel: {}", null, emfile));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("dev.conduit.Guardian"),
        Level.ERROR, "Accept error: not pekko's", null, null));
  }

  @Test
  void repeatableLinesAreLoggedOncePerIntervalWithACountPerFirstArgument() {
    LoggerContext context = new LoggerContext();
    RepeatedLogFilter filter = new RepeatedLogFilter(new LogThrottle(INTERVAL, now::get));
    filter.setContext(context);
    filter.start();
    context.addTurboFilter(filter);
    Logger logger = context.getLogger("dev.conduit.server.JsonParsingErrorHandler");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.setContext(context);
    lines.start();
    logger.addAppender(lines);

    for (int i = 0; i < 3; i++) {
      logger.info(RepeatedLogFilter.REPEATABLE, "http request refused status={} reason={}", 400, "bad " + i);
    }
    logger.info(RepeatedLogFilter.REPEATABLE, "http request refused status={} reason={}", 431, "too large");
    now.addAndGet(INTERVAL.toNanos());
    logger.info(RepeatedLogFilter.REPEATABLE, "http request refused status={} reason={}", 400, "bad 3");
    logger.info("not marked {}", 1);
    logger.info("not marked {}", 2);

    List<String> logged = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertEquals(List.of(
        "http request refused status=400 reason=bad 0 count=1",
        "http request refused status=431 reason=too large count=1",
        "http request refused status=400 reason=bad 3 count=3",
        "not marked 1",
        "not marked 2"), logged);
    assertEquals(Level.INFO, lines.list.get(0).getLevel());
  }
}
