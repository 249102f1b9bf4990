package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.conduit.tunnel.Registration.Candidate;
import dev.conduit.tunnel.Registration.Holder;
import dev.conduit.tunnel.Registration.Liveness;
import dev.conduit.tunnel.Registration.Reason;
import org.junit.jupiter.api.Test;

/** The registry's decision on a registration whose key matched the pin, case by case. */
class RegistrationTest {
  private static final Holder<String> A_AT_5 = new Holder<>("A", 5);

  private static Registration.Decision<String> decide(Holder<String> holder, String connection, long generation,
                                                      boolean proven, boolean replaced, Liveness liveness) {
    return Registration.decide(holder, new Candidate<>(connection, generation, proven), replaced, liveness);
  }

  @Test
  void nobodyHoldsTheId() {
    assertEquals(new Registration.Install<String>(null), decide(null, "B", 1, false, false, Liveness.UNKNOWN));
  }

  @Test
  void theHolderRegistersAgain() {
    assertEquals(new Registration.Refresh<String>(), decide(A_AT_5, "A", 6, false, false, Liveness.UNKNOWN));
  }

  /**
   * The crossing of the report: B replaced A, then A's own re-register (already in flight) is decided.
   * A replaced connection is never installed again, whatever its generation and even with nobody live.
   */
  @Test
  void aReplacedConnectionIsNeverInstalledAgain() {
    Holder<String> bAt6 = new Holder<>("B", 6);
    assertEquals(new Registration.Refuse<String>(Reason.REPLACED), decide(bAt6, "A", 7, true, true, Liveness.UNKNOWN));
    assertEquals(new Registration.Refuse<String>(Reason.REPLACED), decide(bAt6, "A", 5, false, true, Liveness.SILENT));
    assertEquals(new Registration.Refuse<String>(Reason.REPLACED), decide(null, "A", 8, true, true, Liveness.UNKNOWN));
  }

  /** The other crossing: A's re-register (generation 6) was decided first; B's older one (5) loses, proven or not. */
  @Test
  void anOlderRegistrationDoesNotTakeTheIdFromANewerOne() {
    Holder<String> aAt6 = new Holder<>("A", 6);
    assertEquals(new Registration.Refuse<String>(Reason.SUPERSEDED),
        decide(aAt6, "B", 5, true, false, Liveness.UNKNOWN));
    assertEquals(new Registration.Refuse<String>(Reason.SUPERSEDED),
        decide(aAt6, "B", 5, false, false, Liveness.SILENT));
  }

  @Test
  void aProvenNewcomerReplacesAtOnce() {
    assertEquals(new Registration.Install<>("A"), decide(A_AT_5, "B", 6, true, false, Liveness.UNKNOWN));
  }

  @Test
  void anUnprovenNewcomerReplacesOnlyAHolderThatDoesNotAnswer() {
    assertEquals(new Registration.Probe<>("A"), decide(A_AT_5, "B", 6, false, false, Liveness.UNKNOWN));
    assertEquals(new Registration.Refuse<String>(Reason.ALREADY_CONNECTED),
        decide(A_AT_5, "B", 6, false, false, Liveness.ANSWERED));
    assertEquals(new Registration.Install<>("A"), decide(A_AT_5, "B", 6, false, false, Liveness.SILENT));
  }

  /** A location rebuilt empty (its shard moved, its node was removed) takes the first connection that re-asserts. */
  @Test
  void aReassertRebuildsAnEmptyLocation() {
    assertEquals(new Registration.Install<String>(null), Registration.reassert(null, "A", false));
  }

  @Test
  void aReassertOfTheHolderKeepsIt() {
    assertEquals(new Registration.Refresh<String>(), Registration.reassert(A_AT_5, "A", false));
  }

  /** A replaced connection's re-assert (sent before it learnt it was replaced) never takes the id back. */
  @Test
  void aReassertOfAReplacedConnectionIsRefused() {
    assertEquals(new Registration.Refuse<String>(Reason.REPLACED), Registration.reassert(A_AT_5, "B", true));
    assertEquals(new Registration.Refuse<String>(Reason.REPLACED), Registration.reassert(null, "B", true));
  }

  /** The rebuilt location accepted a registration first: a re-assert of another connection loses to it. */
  @Test
  void aReassertAgainstAnotherHolderIsRefused() {
    assertEquals(new Registration.Refuse<String>(Reason.SUPERSEDED), Registration.reassert(A_AT_5, "B", false));
  }
}
