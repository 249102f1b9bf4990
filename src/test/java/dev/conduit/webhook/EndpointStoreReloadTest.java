package dev.conduit.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.persistence.Database;
import dev.conduit.persistence.DatabaseConfig;
import dev.conduit.testing.TestDatabase;
import dev.conduit.webhook.signature.Provider;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two copies of the endpoint definitions over one table, as two nodes have: a change made through one is
 * announced, and the other sees it once it reads that endpoint (or everything) again.
 */
class EndpointStoreReloadTest {
  private static TestDatabase db;
  private static ActorTestKit kit;
  private static Database database;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.create(TestDatabase.Kind.H2);
    kit = ActorTestKit.create(DatabaseConfig.loadApplicationConfig(db.config()));
    database = new Database(kit.system());
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    db.close();
  }

  @Test
  void aChangeMadeThroughOneCopyIsAnnouncedAndReadByTheOther() throws Exception {
    EndpointStore here = new EndpointStore(database);
    EndpointStore there = new EndpointStore(database);
    here.start().toCompletableFuture().get();
    there.start().toCompletableFuture().get();
    List<String> announced = new ArrayList<>();
    here.onChange(announced::add);

    Endpoint created = here.create("a", Provider.GENERIC, null, "http://home.lan/a", "home", Instant.EPOCH)
        .toCompletableFuture().get();
    assertEquals(List.of(created.id()), announced);
    assertTrue(there.get(created.id()).isEmpty(), "the other copy does not know it yet");
    assertEquals(Optional.of(created), there.reload(created.id()).toCompletableFuture().get());
    assertEquals(Optional.of(created), there.get(created.id()));

    Endpoint renamed = new Endpoint(created.id(), "b", Provider.GENERIC, null, "http://home.lan/b", "home",
        created.createdAt(), Instant.EPOCH.plusSeconds(1));
    here.update(renamed).toCompletableFuture().get();
    assertEquals(1, there.reloadAll().toCompletableFuture().get());
    assertEquals(Optional.of(renamed), there.get(created.id()));

    assertTrue(here.delete(created.id()).toCompletableFuture().get());
    assertEquals(List.of(created.id(), created.id(), created.id()), announced);
    assertTrue(there.reload(created.id()).toCompletableFuture().get().isEmpty());
    assertTrue(there.get(created.id()).isEmpty());

    Endpoint again = here.create("c", Provider.GENERIC, null, "http://home.lan/c", "home", Instant.EPOCH)
        .toCompletableFuture().get();
    there.reload(again.id()).toCompletableFuture().get();
    here.delete(again.id()).toCompletableFuture().get();
    assertEquals(0, there.reloadAll().toCompletableFuture().get());
    assertTrue(there.all().isEmpty(), "a full read forgets what the table no longer has");
  }
}
