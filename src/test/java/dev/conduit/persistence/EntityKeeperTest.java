package dev.conduit.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.conduit.testing.TestClock;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The keeper routes by id, passivates idle entities, keeps at most maxLive running (passivating the least
 * recently used), and loses nothing while one stops or fails.
 */
class EntityKeeperTest {
  private static final ActorTestKit KIT = ActorTestKit.create(ManualTime.config());
  private static final ManualTime TIME = ManualTime.get(KIT.system());
  private static final Duration IDLE = Duration.ofMinutes(2);

  /** Test entity: answers each message with its id and incarnation; "stop" waits for a go-ahead first. */
  sealed interface Msg {}

  record Hello(ActorRef<String> replyTo) implements Msg {}

  record Boom() implements Msg {}

  record Stop() implements Msg {}

  record Go() implements Msg {}

  private static Behavior<Msg> entity(String id, TestProbe<String> lifecycle) {
    return entity(id, lifecycle, null);
  }

  /** stopping, when given, receives the entity's own ref as it starts to stop (to let it finish). */
  private static Behavior<Msg> entity(String id, TestProbe<String> lifecycle, TestProbe<ActorRef<Msg>> stopping) {
    return Behaviors.setup(context -> {
      String self = id + "@" + context.getSelf().path().name();
      lifecycle.ref().tell("started " + self);
      return Behaviors.<Msg>receive((ctx, msg) -> {
        if (msg instanceof Hello hello) {
          hello.replyTo().tell(self);
          return Behaviors.same();
        }
        if (msg instanceof Boom) {
          throw new IllegalStateException("boom");
        }
        if (msg instanceof Stop) {
          lifecycle.ref().tell("stopping " + self);
          if (stopping != null) {
            stopping.ref().tell(ctx.getSelf());
          }
          // Like an entity with a persist in flight: it stops only when allowed to.
          return Behaviors.<Msg>receive((c, m) -> m instanceof Go ? Behaviors.stopped() : Behaviors.same());
        }
        return Behaviors.same();
      });
    });
  }

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  @Test
  void routesPassivatesAndHandsHeldMessagesToTheNextIncarnation() {
    TestProbe<String> lifecycle = KIT.createTestProbe();
    TestProbe<String> replies = KIT.createTestProbe();
    TestProbe<ActorRef<Msg>> stopping = KIT.createTestProbe();
    TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
    ActorRef<EntityKeeper.Command<Msg>> keeper = KIT.spawn(
        EntityKeeper.create("e", id -> entity(id, lifecycle, stopping), new Stop(), new EntityLimits(IDLE, 100), clock));

    keeper.tell(EntityKeeper.deliver("a", new Hello(replies.ref())));
    String first = replies.receiveMessage();
    assertEquals("started " + first, lifecycle.receiveMessage());

    // Idle past the timeout: the sweep asks it to stop; a message arriving meanwhile is held.
    clock.advance(IDLE.plusSeconds(1));
    TIME.timePasses(IDLE);
    assertEquals("stopping " + first, lifecycle.receiveMessage());
    keeper.tell(EntityKeeper.deliver("a", new Hello(replies.ref())));
    replies.expectNoMessage(Duration.ofMillis(200));

    // Once the old incarnation is really gone, a new one starts and gets the held message.
    stopping.receiveMessage().tell(new Go());
    String second = replies.receiveMessage();
    assertNotEquals(first, second, "a new incarnation");
    assertEquals("started " + second, lifecycle.receiveMessage());
  }

  @Test
  void anEntityThatThrowsIsRestartedAndLosesNoMessageBehindTheFailure() {
    TestProbe<String> lifecycle = KIT.createTestProbe();
    TestProbe<String> replies = KIT.createTestProbe();
    ActorRef<EntityKeeper.Command<Msg>> keeper = KIT.spawn(EntityKeeper.create("f", id -> entity(id, lifecycle),
        new Stop(), new EntityLimits(IDLE, 100), new TestClock(Instant.parse("2026-01-01T00:00:00Z"))));
    keeper.tell(EntityKeeper.deliver("x", new Hello(replies.ref())));
    String first = replies.receiveMessage();
    assertEquals("started " + first, lifecycle.receiveMessage());
    keeper.tell(EntityKeeper.deliver("y", new Hello(replies.ref())));
    assertNotEquals(first, replies.receiveMessage(), "one entity per id");
    lifecycle.receiveMessage();

    keeper.tell(EntityKeeper.deliver("x", new Boom()));
    keeper.tell(EntityKeeper.deliver("x", new Hello(replies.ref())));
    assertEquals(first, replies.receiveMessage(), "the message queued behind the failure is answered");
    assertEquals("started " + first, lifecycle.receiveMessage(), "by the same entity, restarted");
  }

  @Test
  void atMostMaxLiveRunAndTheLeastRecentlyUsedIsPassivatedWithoutLosingItsMessages() {
    TestProbe<String> lifecycle = KIT.createTestProbe();
    TestProbe<String> replies = KIT.createTestProbe();
    TestProbe<ActorRef<Msg>> stopping = KIT.createTestProbe();
    ActorRef<EntityKeeper.Command<Msg>> keeper = KIT.spawn(EntityKeeper.create("g", id -> entity(id, lifecycle, stopping),
        new Stop(), new EntityLimits(IDLE, 2), new TestClock(Instant.parse("2026-01-01T00:00:00Z"))));
    keeper.tell(EntityKeeper.deliver("a", new Hello(replies.ref())));
    String a = replies.receiveMessage();
    keeper.tell(EntityKeeper.deliver("b", new Hello(replies.ref())));
    replies.receiveMessage();
    // a is used again, so b is now the least recently used.
    keeper.tell(EntityKeeper.deliver("a", new Hello(replies.ref())));
    assertEquals(a, replies.receiveMessage());
    assertEquals("started " + a, lifecycle.receiveMessage());
    String bStarted = lifecycle.receiveMessage();

    // A third id, no time passing: b is asked to stop at once, a keeps running.
    keeper.tell(EntityKeeper.deliver("c", new Hello(replies.ref())));
    String c = replies.receiveMessage();
    assertEquals(java.util.Set.of("started " + c, bStarted.replace("started ", "stopping ")),
        java.util.Set.copyOf(lifecycle.receiveSeveralMessages(2)), "c started and b, the least recently used, stops");
    ActorRef<Msg> b = stopping.receiveMessage();
    keeper.tell(EntityKeeper.deliver("a", new Hello(replies.ref())));
    assertEquals(a, replies.receiveMessage(), "the recently used entity was not passivated");

    // A message for b while it stops is held, then answered by a new incarnation (which passivates c).
    keeper.tell(EntityKeeper.deliver("b", new Hello(replies.ref())));
    replies.expectNoMessage(Duration.ofMillis(200));
    b.tell(new Go());
    String b2 = replies.receiveMessage();
    assertEquals("b@", b2.substring(0, 2));
    assertNotEquals(bStarted.substring("started ".length()), b2, "a new incarnation of b");
    // Two actors report these (b's new incarnation and c): in either order.
    assertEquals(java.util.Set.of("started " + b2, "stopping " + c),
        java.util.Set.copyOf(lifecycle.receiveSeveralMessages(2)), "c was the least recently used");
    lifecycle.expectNoMessage(Duration.ofMillis(200));
  }
}
