package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import dev.conduit.webhook.IngestRoutes;
import java.time.Duration;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * Answers a new user met: a path no route serves got pekko-http's plain text; now every such answer has
 * the JSON error shape of the rest of the API. And an ingest refused for a folded (obs-fold) header logged
 * "name=" with nothing after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsonRejectionsTest {
  private static final String TOKEN = "rejections-token";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private TestDatabase database;
  private TestServer server;
  private EdgeApi api;

  @BeforeAll
  void start() throws Exception {
    database = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(database, ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", "home:home-secret", "conduit.webhook.admin-token", TOKEN)));
    api = new EdgeApi(server.httpBase(), TOKEN);
  }

  @AfterAll
  void stop() throws Exception {
    TestServer.close(server, database);
  }

  @Test
  void anUnknownPathIsJsonNotFound() throws Exception {
    for (String path : List.of("/no/such/path", "/api/no-such-thing", "/favicon.ico")) {
      RawHttp.Response response = RawHttp.exchange(server.port(),
          RawHttp.latin1("GET " + path + " HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"));
      assertEquals(404, response.status(), path);
      assertTrue(response.header("Content-Type").startsWith("application/json"), response.header("Content-Type"));
      JsonNode error = EdgeApi.MAPPER.readTree(response.body());
      assertEquals("not_found", error.path("error").asText(), response.body());
      assertFalse(error.path("message").asText().isBlank(), response.body());
    }
  }

  @Test
  void aWrongMethodIsJsonMethodNotAllowedWithAllow() throws Exception {
    RawHttp.Response response = RawHttp.exchange(server.port(),
        RawHttp.latin1("DELETE /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"));
    assertEquals(405, response.status(), response.body());
    assertEquals("method_not_allowed", EdgeApi.MAPPER.readTree(response.body()).path("error").asText(), response.body());
    assertTrue(response.header("Allow").contains("GET"), String.valueOf(response.header("Allow")));
  }

  /** pekko-http's default exception handler answers 500 in plain text: JSON too; a 2xx text body is left alone. */
  @Test
  void anyPlainTextErrorOfPekkoHttpBecomesJsonAndOtherAnswersStayAsTheyAre() throws Exception {
    HttpResponse internal = JsonRejections.asJson(HttpResponse.create().withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
        .withEntity("There was an internal server error."));
    assertEquals(500, internal.status().intValue());
    assertEquals(ContentTypes.APPLICATION_JSON, internal.entity().getContentType());
    JsonNode body = EdgeApi.MAPPER.readTree(((HttpEntity.Strict) internal.entity()).getData().utf8String());
    assertEquals("internal_error", body.path("error").asText());
    assertEquals("There was an internal server error.", body.path("message").asText());
    HttpResponse metrics = HttpResponse.create().withEntity("conduit_tunnel_sessions_open 0\n");
    assertSame(metrics, JsonRejections.asJson(metrics));
  }

  /** Someone who points curl at the gRPC port learns where the HTTP API is, in the same JSON shape. */
  @Test
  void theGrpcPortAnswersAnUnknownPathWithJsonNotFound() throws Exception {
    RawHttp.Response response = RawHttp.exchange(server.grpcPort(),
        RawHttp.latin1("GET /api/status HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"));
    assertEquals(404, response.status(), response.body());
    JsonNode error = EdgeApi.MAPPER.readTree(response.body());
    assertEquals("not_found", error.path("error").asText(), response.body());
    assertTrue(error.path("message").asText().contains("conduit.http.port"), response.body());
  }

  @Test
  void aFoldedHeaderIsLoggedAsAnInexactHeadWithoutAnEmptyName() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(IngestRoutes.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.list = new CopyOnWriteArrayList<>(); // appended by the server's threads while read
    logged.start();
    logger.addAppender(logged);
    try {
      String endpoint = api.createEndpoint("folded", "http://service.lan/hook", "home");
      RawHttp.Response response = RawHttp.exchange(server.port(), RawHttp.latin1("POST /h/" + endpoint
          + " HTTP/1.1\r\nHost: relay\r\nX-Note: first part\r\n  continued\r\nContent-Length: 2\r\n\r\n{}"));
      assertEquals(400, response.status(), response.body());
      assertEquals("invalid_header", EdgeApi.MAPPER.readTree(response.body()).path("error").asText());
      String line = EdgeApi.awaitValue(() -> logged.list.stream().map(ILoggingEvent::getFormattedMessage)
          .filter(m -> m.startsWith("webhook refused endpoint=" + endpoint)).findFirst().orElse(null),
          m -> m != null, WAIT, "the refusal's log line");
      assertTrue(line.contains("reason=inexact request head detail=") && line.contains("obs-fold"), line);
      assertFalse(line.contains("name="), line);
    } finally {
      logger.detachAppender(logged);
    }
  }
}
