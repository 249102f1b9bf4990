package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.persistence.Database;
import dev.conduit.persistence.DatabaseConfig;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import dev.conduit.webhook.signature.Provider;
import dev.conduit.webhook.signature.Verdict;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Webhooks journaled the old way (tagged WebhookEvents of WebhookEndpoint|id, written here with the
 * persistence API before the new code first starts) become rows of the webhooks table at start-up:
 * history with its status, queued ones still queued in their queue order (a replayed one last), and
 * delivered from there in that order. The import runs once: a second start imports nothing again.
 */
class JournalImportTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  /** Recent: older than dead-letter-after, the queued ones would be dead-lettered at once. */
  private static final Instant T0 = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minusSeconds(600);

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void oldJournalIsImportedOnceAndItsQueueDeliveredInOrder(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.create(kind);
         TestDestination destination = TestDestination.start()) {
      String endpoint = writeOldJournal(db, destination.url("/old"));

      List<String> queueOrder = List.of("w3", "w4", "w5", "w6");
      try (TestServer server = TestServer.start(db, WebhookRelayEndToEndTest.overrides())) {
        EdgeApi api = new EdgeApi(server.httpBase(), WebhookRelayEndToEndTest.TOKEN);
        assertEquals("delivered", api.webhook("w1").path("status").asText());
        JsonNode failed = api.webhook("w2");
        assertEquals("failed", failed.path("status").asText());
        assertEquals(404, failed.path("last_status_code").asInt());
        assertEquals(1, failed.path("attempts").asInt());
        for (String id : queueOrder) {
          assertTrue(Set.of("received", "retrying", "dispatched").contains(api.webhook(id).path("status").asText()),
              id + " still queued: " + api.webhook(id));
        }
        JsonNode payload = api.admin("GET", "/api/webhooks/w4/payload", null).json();
        assertEquals("{\"n\":4}", new String(Base64.getDecoder().decode(payload.path("body_base64").asText()),
            StandardCharsets.UTF_8));
        assertEquals("x-old", payload.path("headers").get(0).path("name").asText());

        try (TestHub hub = TestHub.connect(server.grpcPort(), WebhookRelayEndToEndTest.HUB,
            WebhookRelayEndToEndTest.SECRET)) {
          assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
          for (String id : queueOrder) {
            api.awaitStatus(id, "delivered", TIMEOUT);
          }
          assertEquals(List.of("{\"n\":3}", "{\"n\":4}", "{\"n\":5}", "{\"n\":6}"),
              destination.requests("/old").stream().map(TestDestination.Request::bodyText).toList(),
              "the imported queue is delivered in its order, the replayed one last, each once");
        }
        assertEquals(6, api.admin("GET", "/api/webhooks?endpoint=" + endpoint, null).json().path("webhooks").size());
      }
      // Started again: the import does not run twice (no duplicate rows, nothing queued again).
      try (TestServer server = TestServer.start(db, WebhookRelayEndToEndTest.overrides())) {
        EdgeApi api = new EdgeApi(server.httpBase(), WebhookRelayEndToEndTest.TOKEN);
        JsonNode rows = api.admin("GET", "/api/webhooks?endpoint=" + endpoint, null).json().path("webhooks");
        assertEquals(6, rows.size(), rows.toString());
        assertEquals(5, api.admin("GET", "/api/webhooks?endpoint=" + endpoint + "&status=delivered", null).json()
            .path("webhooks").size());
      }
    }
  }

  /** The journal as the previous version left it; returns the endpoint's id. */
  private static String writeOldJournal(TestDatabase db, String destinationUrl) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "old-version",
        DatabaseConfig.loadApplicationConfig(db.config()));
    try {
      Database database = new Database(system);
      database.createSchemaIfAbsent().toCompletableFuture().get();
      EndpointStore endpoints = new EndpointStore(database);
      endpoints.start().toCompletableFuture().get();
      String endpoint = endpoints.create("old", Provider.GENERIC, null, destinationUrl, WebhookRelayEndToEndTest.HUB,
              Instant.now()).toCompletableFuture().get().id();
      List<WebhookEvent> events = new ArrayList<>();
      events.add(received("w6", 6, 0));
      events.add(new WebhookEvent.DeadLettered("w6", T0.plusSeconds(1)));
      for (int n = 1; n <= 5; n++) {
        events.add(received("w" + n, n, 1 + n));
      }
      events.add(new WebhookEvent.Dispatched("w1", 1, T0.plusSeconds(10)));
      events.add(new WebhookEvent.Delivered("w1", 200, T0.plusSeconds(11)));
      events.add(new WebhookEvent.Dispatched("w2", 1, T0.plusSeconds(12)));
      events.add(new WebhookEvent.Failed("w2", 404, "not found", T0.plusSeconds(13)));
      events.add(new WebhookEvent.Replayed("w6", T0.plusSeconds(14)));
      ActorRef<Journal> writer = system.systemActorOf(OldEndpoint.create(endpoint), "old-endpoint",
          org.apache.pekko.actor.typed.Props.empty());
      AskPattern.<Journal, Boolean>ask(writer, replyTo -> new Journal(events, replyTo), TIMEOUT, system.scheduler())
          .toCompletableFuture().get();
      return endpoint;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get();
    }
  }

  private static WebhookEvent.Received received(String id, int n, int second) {
    return new WebhookEvent.Received(id, T0.plusSeconds(second), Map.of("x-old", "yes"),
        ("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8), Verdict.UNSIGNED, null, true);
  }

  record Journal(List<WebhookEvent> events, ActorRef<Boolean> replyTo) {}

  /** Journals events as the old entity did: persistence id WebhookEndpoint|id, tag "webhook". */
  static final class OldEndpoint extends EventSourcedBehavior<Journal, WebhookEvent, Integer> {
    static Behavior<Journal> create(String endpointId) {
      return new OldEndpoint(endpointId);
    }

    private OldEndpoint(String endpointId) {
      super(PersistenceId.of("WebhookEndpoint", endpointId));
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public Set<String> tagsFor(WebhookEvent event) {
      return Set.of("webhook");
    }

    @Override
    public CommandHandler<Journal, WebhookEvent, Integer> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Journal.class,
          (state, journal) -> Effect().persist(journal.events()).thenReply(journal.replyTo(), s -> true)).build();
    }

    @Override
    public EventHandler<Integer, WebhookEvent> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> state + 1);
    }
  }
}
