package dev.conduit.bench;

import java.nio.file.Path;

/** One named benchmark of {@code scripts/bench}; runDir holds its servers' logs and data. */
interface Benchmark {
  String name();

  BenchReport run(Path runDir) throws Exception;
}
