package dev.conduit.hub.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.RawDestination;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The envelope's header map to header lines, against a destination that records exact bytes: a value
 * joined with LF goes out as one line per value in order; one that cannot be sent as its bytes is logged
 * at WARN with the webhook id and header name, not dropped in silence.
 */
class WebhookPosterHeadersTest {
  @Test
  void lfJoinedValuesBecomeLinesAndUnsendableValuesAreLogged() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.list = new java.util.concurrent.CopyOnWriteArrayList<>(); // appended by other threads while read
    Logger logger = (Logger) LoggerFactory.getLogger(WebhookPoster.class);
    logs.start();
    logger.addAppender(logs);
    try (RawDestination destination = RawDestination.start();
         WebhookPoster poster = new WebhookPoster(Duration.ofSeconds(30))) {
      WebhookEnvelope envelope = WebhookEnvelope.newBuilder()
          .setId("wh-1")
          .setEndpointId("ep")
          .setDestinationUrl(destination.url("/lines"))
          .setPayload(ByteString.copyFromUtf8("{}"))
          .setAttempt(1)
          .putHeaders("x-tag", "a\nb, c\nd")
          .putHeaders("x-title", "caf\u00c3\u00a9")
          .putHeaders("x-cr", "a\rb")
          .putHeaders("x-wide", "\u0100")
          .build();
      // A hang guard only: the ack comes as soon as the destination answers.
      DeliveryAck ack = poster.post(envelope).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertTrue(ack.getSuccess(), ack.toString());
      RawDestination.Request received = destination.requests().get(0);
      assertEquals(List.of("x-tag: a", "x-tag: b, c", "x-tag: d"),
          received.headerLinesExcept("Host", "Content-Length", "X-Title"));
      assertEquals(List.of("x-title: caf\u00c3\u00a9"), received.headerLinesExcept("Host", "Content-Length", "X-Tag"));
      List<String> warnings = logs.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).sorted().toList();
      assertEquals(2, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).startsWith("webhook wh-1: header 'x-cr' not forwarded"), warnings.get(0));
      assertTrue(warnings.get(1).startsWith("webhook wh-1: header 'x-wide' not forwarded"), warnings.get(1));
    } finally {
      logger.detachAppender(logs);
    }
  }
}
