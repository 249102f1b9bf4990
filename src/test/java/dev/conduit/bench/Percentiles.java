package dev.conduit.bench;

import java.util.Collection;

/** Percentiles of nanosecond samples, in milliseconds (nearest-rank). */
record Percentiles(int count, double p50, double p99, double p999, double max) {
  static Percentiles of(Collection<Long> nanos) {
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    if (sorted.length == 0) {
      throw new IllegalStateException("no samples");
    }
    return new Percentiles(sorted.length, at(sorted, 0.50), at(sorted, 0.99), at(sorted, 0.999),
        sorted[sorted.length - 1] / 1e6);
  }

  private static double at(long[] sorted, double quantile) {
    int rank = (int) Math.ceil(quantile * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1e6;
  }

  @Override
  public String toString() {
    return String.format(java.util.Locale.ROOT, "n=%d p50=%.3f p99=%.3f p999=%.3f max=%.3f ms", count, p50, p99, p999,
        max);
  }

}
