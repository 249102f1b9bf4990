package dev.conduit.bench;

import dev.conduit.testing.ChildServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A server under measurement in its own JVM, so its CPU, heap and RSS are its own and not the load
 * generator's. Output goes to a log file under the run's directory.
 */
final class ChildJvm implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private final Process process;
  private final int port;
  private final Path log;

  private ChildJvm(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Conduit's fat jar, {@code serve}, configured only through CONDUIT_* variables like a deployment. */
  static ChildJvm conduit(Path jar, Map<String, String> env, Path logDir) throws Exception {
    int port = ChildServer.freePort();
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx" + BenchConfig.SERVER_HEAP));
    command.addAll(BenchConfig.CONDUIT_JVM_OPTIONS);
    command.addAll(List.of("-jar", jar.toString(), "serve"));
    Map<String, String> withPort = new java.util.HashMap<>(env);
    withPort.put("CONDUIT_HTTP_HOST", "127.0.0.1");
    withPort.put("CONDUIT_HTTP_PORT", Integer.toString(port));
    // gRPC has its own port by default (8081); a benchmark that needs it sets it, others take any free one.
    withPort.putIfAbsent("CONDUIT_GRPC_PORT", "0");
    withPort.putIfAbsent("CONDUIT_CLUSTER_PORT", "0");
    return start("conduit", command, withPort, port, logDir);
  }

  /** A main class from the benchmark classpath, given its port as the first argument. */
  static ChildJvm main(String name, Class<?> mainClass, Path logDir, String... args) throws Exception {
    int port = ChildServer.freePort();
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx" + BenchConfig.SERVER_HEAP));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass.getName(), Integer.toString(port)));
    command.addAll(List.of(args));
    return start(name, command, Map.of(), port, logDir);
  }

  /**
   * The production hub client of the fat jar ({@code hub --edge ... --hub-id ... --secret-file ...}); it
   * listens on nothing, so this returns once the process runs (wait for the edge to report it connected).
   */
  static ChildJvm hubClient(Path jar, String edgeUrl, String hubId, Path secretFile, Path logDir) throws Exception {
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx512m"));
    command.addAll(BenchConfig.HUB_JVM_OPTIONS);
    command.addAll(List.of("-jar", jar.toString(), "hub", "--edge", edgeUrl, "--hub-id", hubId, "--secret-file",
        secretFile.toString()));
    return start("hub-client", command, Map.of(), -1, logDir);
  }

  private static ChildJvm start(String name, List<String> command, Map<String, String> env, int port, Path logDir)
      throws Exception {
    Files.createDirectories(logDir);
    Path log = logDir.resolve(name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    ChildJvm child = new ChildJvm(builder.start(), port, log);
    if (port > 0) {
      child.awaitListening();
    }
    return child;
  }

  private void awaitListening() throws Exception {
    ChildServer.awaitListening(process, port, START_TIMEOUT, log);
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  /** CPU time (user + system) the process has used so far. */
  Duration cpuTime() {
    return ProcessMetrics.cpuTime(process.pid());
  }

  long rssBytes() {
    return ProcessMetrics.rssBytes(process.pid());
  }

  /** Live heap after a full GC, through jcmd/jstat (the JDK's own tools, no agent in the server). */
  long liveHeapBytes() throws Exception {
    return ProcessMetrics.liveHeapBytes(process.pid());
  }

  /** The lines of {@code jcmd GC.class_histogram} (live objects by class, after a full GC). */
  List<String> classHistogram() throws Exception {
    return ProcessMetrics.classHistogram(process.pid());
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
