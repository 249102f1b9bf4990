package dev.conduit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A second SIGTERM while the first stop drains: one stop, one lifecycle line, exit 0 once it ends. */
class SigtermTest {
  private static final long WAIT_SECONDS = 30;

  @Test
  void secondSignalDuringTheStopIsLoggedOnceAndStartsNoSecondStop() throws Exception {
    LoggerContext context = new LoggerContext();
    Logger log = context.getLogger("dev.conduit.ServeCommand");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.setContext(context);
    lines.start();
    log.addAppender(lines);
    CountDownLatch stopEntered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger stops = new AtomicInteger();
    Sigterm.Handler handler = new Sigterm.Handler("conduit", () -> {
      stops.incrementAndGet();
      stopEntered.countDown();
      release.await(WAIT_SECONDS, TimeUnit.SECONDS);
    }, log);

    // Signals arrive on threads of their own, as the JVM delivers them.
    Thread first = new Thread(handler::terminate);
    first.start();
    stopEntered.await(WAIT_SECONDS, TimeUnit.SECONDS);
    handler.terminate(); // returns at once: the first stop is still running
    release.countDown();
    first.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
    handler.terminatedUnasked(); // the system ends as part of the stop: not a failure

    assertEquals(1, stops.get());
    assertEquals(Sigterm.EXIT_OK, handler.exit.get(WAIT_SECONDS, TimeUnit.SECONDS));
    List<String> logged = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertEquals(List.of("conduit stopping signal=TERM", "conduit already stopping signal=TERM", "conduit stopped"),
        logged);
  }

  @Test
  void systemEndingUnaskedIsAFailure() throws Exception {
    Logger log = new LoggerContext().getLogger("dev.conduit.ServeCommand");
    Sigterm.Handler handler = new Sigterm.Handler("conduit", () -> {}, log);
    handler.terminatedUnasked();
    assertEquals(Sigterm.EXIT_FAILED, handler.exit.get(WAIT_SECONDS, TimeUnit.SECONDS));
  }
}
