package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Pekko's accept errors are taken out of the log (and summarised); everything else passes untouched. */
class AcceptErrorLogFilterTest {

  @Test
  void dropsOnlyTheTcpListenersAcceptErrors() {
    LoggerContext context = new LoggerContext();
    AcceptErrorLogFilter filter = new AcceptErrorLogFilter();
    IOException emfile = new IOException("Too many open files");
    assertEquals(FilterReply.DENY, filter.decide(null, context.getLogger("org.apache.pekko.io.TcpListener"),
        Level.ERROR, "Accept error: could not accept new connection", null, emfile));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("org.apache.pekko.io.TcpListener"),
        Level.ERROR, "Error closing ServerSocketChannel: {}", null, emfile));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("dev.conduit.Guardian"),
        Level.ERROR, "Accept error: not pekko's", null, null));
  }
}
