package dev.conduit.fuzz;

import java.util.SplittableRandom;

/**
 * The fuzz suite's seed and size. Fixed by default so every run generates the same corpus; override with
 * {@code -Dconduit.fuzz.seed=N} (any long) and {@code -Dconduit.fuzz.cases=N} (random cases per corpus).
 * Every failure message names the seed, so a failing case can be generated again.
 */
public final class FuzzSeed {
  public static final long DEFAULT_SEED = 0xC0DE_F0CAL;
  public static final int DEFAULT_CASES = 120;

  private FuzzSeed() {}

  public static long seed() {
    return Long.getLong("conduit.fuzz.seed", DEFAULT_SEED);
  }

  /** Random (mutation) cases per corpus; the hand-listed structural cases always run in full. */
  public static int cases() {
    return Integer.getInteger("conduit.fuzz.cases", DEFAULT_CASES);
  }

  /** An independent stream per corpus, so adding cases to one corpus does not change the others. */
  public static SplittableRandom random(String corpus) {
    return new SplittableRandom(seed() ^ (corpus.hashCode() * 0x9E3779B97F4A7C15L));
  }

  /** How to generate this exact corpus again, for failure messages. */
  public static String reproduce() {
    return "reproduce with -Dconduit.fuzz.seed=" + seed() + " -Dconduit.fuzz.cases=" + cases();
  }
}
