package dev.conduit.tunnel;

/**
 * Who holds an instance id: the pure decision the registry makes when a registration's key pin matched.
 * Every registration gets a generation from the registry, strictly increasing in the order the registry
 * received them; the decision is a function of the live holder, the candidate and what is known of the
 * holder's liveness, so that exactly one connection ends up live however registrations cross.
 *
 * @param <C> the connection's identity (an actor ref in the relay, anything in tests)
 */
public final class Registration {
  private Registration() {}

  /** The connection live for an id and the generation of its latest accepted registration. */
  public record Holder<C>(C connection, long generation) {}

  /** A registration whose key matched the pin; proven when it proved possession of the private key. */
  public record Candidate<C>(C connection, long generation, boolean proven) {}

  /** What is known of the holder: nothing yet, it answered a ping in time, or it did not. */
  public enum Liveness { UNKNOWN, ANSWERED, SILENT }

  public sealed interface Decision<C> {}

  /** Make the candidate live; replaced (null if none) is told {@code replaced} and must never be installed again. */
  public record Install<C>(C replaced) implements Decision<C> {}

  /** The candidate already is the live connection: keep it, with the newer generation. */
  public record Refresh<C>() implements Decision<C> {}

  /** Ping the holder (an unproven newcomer must not take the id from a connection that still answers). */
  public record Probe<C>(C holder) implements Decision<C> {}

  public record Refuse<C>(Reason reason) implements Decision<C> {}

  public enum Reason {
    /** The candidate was replaced already: a replaced connection never becomes live again. */
    REPLACED,
    /** The holder registered later than the candidate (crossing registrations): the newer one stays. */
    SUPERSEDED,
    /** The candidate is unproven and the holder answered the probe. */
    ALREADY_CONNECTED
  }

  /**
   * @param holder           the live connection for the id, null when none
   * @param candidateReplaced the candidate connection was told {@code replaced} before
   * @param holderLiveness   the result of a probe of this holder, UNKNOWN when none was made
   */
  public static <C> Decision<C> decide(Holder<C> holder, Candidate<C> candidate, boolean candidateReplaced,
                                       Liveness holderLiveness) {
    if (candidateReplaced) {
      return new Refuse<>(Reason.REPLACED);
    }
    if (holder == null) {
      return new Install<>(null);
    }
    if (holder.connection().equals(candidate.connection())) {
      return new Refresh<>();
    }
    if (holder.generation() > candidate.generation()) {
      return new Refuse<>(Reason.SUPERSEDED);
    }
    if (candidate.proven()) {
      return new Install<>(holder.connection());
    }
    return switch (holderLiveness) {
      case UNKNOWN -> new Probe<>(holder.connection());
      case ANSWERED -> new Refuse<>(Reason.ALREADY_CONNECTED);
      case SILENT -> new Install<>(holder.connection());
    };
  }

  /**
   * A connection that holds its id says so again, with the generation it was accepted at: the location
   * entity's memory was lost (its shard moved, or its node was removed) and is being rebuilt from the
   * connections themselves. The holder (or, when there is none yet, the first to re-assert) keeps the
   * id; a replaced connection never gets it back; any other connection lost it to a registration the
   * rebuilt entity accepted first (Refuse SUPERSEDED: it is told {@code replaced}).
   *
   * @param holder            the live connection for the id, null when none
   * @param candidateReplaced the re-asserting connection was told {@code replaced} before
   */
  public static <C> Decision<C> reassert(Holder<C> holder, C candidate, boolean candidateReplaced) {
    if (candidateReplaced) {
      return new Refuse<>(Reason.REPLACED);
    }
    if (holder == null) {
      return new Install<>(null);
    }
    if (holder.connection().equals(candidate)) {
      return new Refresh<>();
    }
    return new Refuse<>(Reason.SUPERSEDED);
  }
}
