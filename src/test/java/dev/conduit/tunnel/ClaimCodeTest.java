package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.TestClock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The claim code entity's rules, with a clock the test moves. */
class ClaimCodeTest {
  private static final ActorTestKit TESTKIT = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));

  /** Commands never leave the process; events and state are checked to round-trip through the serializer. */
  private static final EventSourcedBehaviorTestKit.SerializationSettings LOCAL_COMMANDS =
      EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false);

  @AfterAll
  static void stop() {
    TESTKIT.shutdownTestKit();
  }

  @Test
  void unknownCodeIsInvalidFirstConsumeWinsExpiredIsRefusedReleaseRestores() {
    TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
    EventSourcedBehaviorTestKit<ClaimCode.Command, ClaimCode.Event, ClaimCode.State> kit =
        EventSourcedBehaviorTestKit.create(TESTKIT.system(), ClaimCode.create("ABCD2345", clock), LOCAL_COMMANDS);

    var invalid = kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-1", r)).reply();
    assertEquals(new ClaimCode.Refused("Invalid claim code"), invalid);

    Instant expiresAt = clock.instant().plus(Duration.ofSeconds(300));
    var created = kit.<ClaimCode.CreateResult>runCommand(r -> new ClaimCode.Create("c1", "inst", "u", expiresAt, r));
    assertEquals(ClaimCode.CreateResult.CREATED, created.reply());
    var taken = kit.<ClaimCode.CreateResult>runCommand(r -> new ClaimCode.Create("c2", "other", "v", expiresAt, r));
    assertEquals(ClaimCode.CreateResult.CODE_TAKEN, taken.reply(), "a live code is never overwritten");

    var granted = kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-1", r));
    assertEquals(new ClaimCode.Granted("c1", "inst", "u"), granted.reply());
    assertInstanceOf(ClaimCode.Consumed.class, granted.event());
    assertEquals(new ClaimCode.Refused("Claim code has already been used"),
        kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-1", r)).reply());

    kit.runCommand(new ClaimCode.Release("someone-else"));
    assertEquals(new ClaimCode.Refused("Claim code has already been used"),
        kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-2", r)).reply(),
        "only the consumer that took the code can give it back");
    kit.runCommand(new ClaimCode.Release("attempt-1"));
    assertEquals(new ClaimCode.Granted("c1", "inst", "u"),
        kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-1", r)).reply(), "a released code can be used again");

    // Recovery from the journal rebuilds the same state.
    kit.restart();
    assertEquals(new ClaimCode.Refused("Claim code has already been used"),
        kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-1", r)).reply());

    kit.runCommand(new ClaimCode.Release("attempt-1"));
    clock.advance(Duration.between(clock.instant(), expiresAt));
    assertEquals(new ClaimCode.Refused("Claim code has expired"),
        kit.<ClaimCode.ConsumeResult>runCommand(r -> new ClaimCode.Consume("attempt-1", r)).reply());
    var reused = kit.<ClaimCode.CreateResult>runCommand(r -> new ClaimCode.Create("c3", "inst", "w",
        expiresAt.plusSeconds(300), r));
    assertEquals(ClaimCode.CreateResult.CREATED, reused.reply(), "an expired code may be issued again");
  }

  @Test
  void keyPinFirstKeyWins() {
    EventSourcedBehaviorTestKit<KeyPin.Command, KeyPin.Event, KeyPin.State> kit =
        EventSourcedBehaviorTestKit.create(TESTKIT.system(), KeyPin.create("inst-1", Clock.systemUTC()), LOCAL_COMMANDS);
    assertEquals(KeyPin.Result.NOT_PINNED, kit.<KeyPin.Result>runCommand(KeyPin.Lookup::new).reply());
    assertEquals(KeyPin.Result.PINNED_NOW, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", false, r)).reply());
    assertEquals(KeyPin.Result.MATCHES, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", false, r)).reply());
    assertEquals(KeyPin.Result.MISMATCH, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k2", false, r)).reply());
    kit.restart();
    assertEquals(KeyPin.Result.MISMATCH, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k2", false, r)).reply());
    assertEquals(KeyPin.Result.PINNED, kit.<KeyPin.Result>runCommand(KeyPin.Lookup::new).reply());
  }

  /** Once proven, the id needs the proof for good (journalled: it survives a restart); never proven: the key suffices. */
  @Test
  void keyPinOnceProvenRequiresTheProof() {
    EventSourcedBehaviorTestKit<KeyPin.Command, KeyPin.Event, KeyPin.State> kit =
        EventSourcedBehaviorTestKit.create(TESTKIT.system(), KeyPin.create("inst-2", Clock.systemUTC()), LOCAL_COMMANDS);
    assertEquals(KeyPin.Result.PINNED_NOW, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", false, r)).reply());
    assertEquals(KeyPin.Result.MATCHES, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", false, r)).reply(),
        "an instance that never proved registers with its key alone");
    var upgraded = kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", true, r));
    assertEquals(KeyPin.Result.MATCHES, upgraded.reply());
    assertTrue(upgraded.event() instanceof KeyPin.PossessionProven, String.valueOf(upgraded.events()));
    assertEquals(KeyPin.Result.PROOF_REQUIRED, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", false, r)).reply());
    kit.restart();
    assertEquals(KeyPin.Result.PROOF_REQUIRED, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", false, r)).reply());
    assertEquals(KeyPin.Result.MATCHES, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k1", true, r)).reply());
    assertEquals(KeyPin.Result.MISMATCH, kit.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k2", true, r)).reply());

    EventSourcedBehaviorTestKit<KeyPin.Command, KeyPin.Event, KeyPin.State> first =
        EventSourcedBehaviorTestKit.create(TESTKIT.system(), KeyPin.create("inst-3", Clock.systemUTC()), LOCAL_COMMANDS);
    assertEquals(KeyPin.Result.PINNED_NOW, first.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k3", true, r)).reply());
    assertEquals(new KeyPin.State("k3", true), first.getState(), "pinned and proven by its first registration");
    assertEquals(KeyPin.Result.PROOF_REQUIRED, first.<KeyPin.Result>runCommand(r -> new KeyPin.Check("k3", false, r)).reply());
  }
}
