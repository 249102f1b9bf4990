package dev.conduit.testing;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Conduit in a child JVM over a test database, configured through CONDUIT_* variables like a
 * deployment, so a test can {@code kill -9} it (no shutdown hook, no flush) and restart on the same data.
 */
public final class ChildServer implements AutoCloseable {
  // A hang guard, not a speed check: a child JVM has been seen taking 45 s to start on 2 cores under a
  // load average near 40, so the guard sits well above that.
  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
  private final Process process;
  private final int port;
  private final int grpcPort;
  private final Path log;

  private ChildServer(Process process, int port, int grpcPort, Path log) {
    this.process = process;
    this.port = port;
    this.grpcPort = grpcPort;
    this.log = log;
  }

  /** Starts {@code dev.conduit.Main serve} and waits until it listens; env adds or overrides variables. */
  public static ChildServer start(TestDatabase db, Map<String, String> env) throws Exception {
    int port = freePort();
    int grpcPort = freePort();
    Config config = db.config();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        "dev.conduit.Main", "serve");
    Map<String, String> vars = builder.environment();
    vars.put("CONDUIT_HTTP_HOST", "127.0.0.1");
    vars.put("CONDUIT_HTTP_PORT", Integer.toString(port));
    vars.put("CONDUIT_GRPC_PORT", Integer.toString(grpcPort));
    vars.put("CONDUIT_DATA_DIR", config.getString("conduit.data-dir"));
    vars.put("CONDUIT_DB_URL", config.getString("conduit.db.url"));
    if (config.hasPath("conduit.db.user")) {
      vars.put("CONDUIT_DB_USER", config.getString("conduit.db.user"));
      vars.put("CONDUIT_DB_PASSWORD", config.getString("conduit.db.password"));
    }
    vars.putAll(env);
    Path log = db.dataDir().resolve("child-" + port + ".log");
    builder.redirectErrorStream(true).redirectOutput(log.toFile());
    ChildServer child = new ChildServer(builder.start(), port, grpcPort, log);
    child.awaitListening();
    return child;
  }

  /** Both ports: the gRPC port is bound after the HTTP one, so a test must not take one for the other. */
  private void awaitListening() throws Exception {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    awaitListening(process, port, START_TIMEOUT, log);
    awaitListening(process, grpcPort, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), log);
  }

  /** Waits until a child process accepts connections on port; fails early if it exits. */
  public static void awaitListening(Process process, int port, Duration timeout, Path log) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("child exited with " + process.exitValue() + "; log: " + log);
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("child did not listen on " + port + " within " + timeout + "; log: " + log);
  }

  public int port() {
    return port;
  }

  /** The hub stream's (gRPC) own port. */
  public int grpcPort() {
    return grpcPort;
  }

  public URI wsBase() {
    return URI.create("ws://127.0.0.1:" + port);
  }

  public URI httpBase() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public Path log() {
    return log;
  }

  /** SIGTERM, as a service manager stops it; waits for the exit and returns the exit status. */
  public int terminate(Duration timeout) throws InterruptedException {
    process.destroy(); // SIGTERM on Unix
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException("child still running " + timeout + " after SIGTERM; log: " + log);
    }
    return process.exitValue();
  }

  /** kill -9: the process gets no chance to flush or say goodbye. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }

  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
