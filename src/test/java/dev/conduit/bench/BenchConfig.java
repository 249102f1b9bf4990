package dev.conduit.bench;

import java.nio.file.Path;

/** Where the benchmarks find the build and put their results; the same for every benchmark. */
final class BenchConfig {
  /** Heap of each server JVM under measurement (Conduit and the baselines alike). */
  static final String SERVER_HEAP = System.getProperty("bench.server-heap", "2g");
  /** Extra options for Conduit's JVM, e.g. -XX:StartFlightRecording=... to profile it. */
  static final java.util.List<String> CONDUIT_JVM_OPTIONS =
      java.util.Arrays.stream(System.getProperty("bench.conduit-jvm-opts", "").split(" "))
          .filter(option -> !option.isBlank()).toList();
  /** Extra options for the hub client's JVM (webhook-e2e), e.g. -XX:StartFlightRecording=... */
  static final java.util.List<String> HUB_JVM_OPTIONS =
      java.util.Arrays.stream(System.getProperty("bench.hub-jvm-opts", "").split(" "))
          .filter(option -> !option.isBlank()).toList();
  static final Path JAR = Path.of(System.getProperty("bench.jar", "target/conduit.jar"));
  static final Path RESULTS = Path.of(System.getProperty("bench.results", "bench-results"));
  /** PostgreSQL server for the webhook benchmarks; a fresh database is created on it per run. */
  static final String PG_HOST = System.getProperty("bench.pg-host", "127.0.0.1");
  static final int PG_PORT = Integer.getInteger("bench.pg-port", 5432);
  static final String PG_USER = System.getProperty("bench.pg-user", "postgres");
  static final String PG_PASSWORD = System.getProperty("bench.pg-password", "");

  private BenchConfig() {}
}
