package dev.conduit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.server.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A foreign WebSocket peer: {@code bench/node/peer.js} on Node.js with the {@code ws} library (installed by
 * scripts/bench from bench/node/package-lock.json), in its own process. It reports one JSON object per
 * line on stdout; stderr goes to a log file in the run's directory.
 */
final class NodePeer implements AutoCloseable {
  static final Path SCRIPT = Path.of(System.getProperty("bench.node-script", "bench/node/peer.js"));
  private final Process process;
  private final BlockingQueue<JsonNode> lines = new LinkedBlockingQueue<>();

  private NodePeer(Process process) {
    this.process = process;
    Thread reader = new Thread(this::read, "node-peer-" + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code node peer.js role args...}; log names the stderr file under runDir. */
  static NodePeer start(Path runDir, String log, String role, List<String> args) throws Exception {
    if (!Files.isDirectory(SCRIPT.resolveSibling("node_modules").resolve("ws"))) {
      throw new IllegalStateException("bench/node/node_modules/ws is missing: run scripts/bench, which installs it");
    }
    List<String> command = new ArrayList<>(List.of(System.getProperty("bench.node", "node"), SCRIPT.toString(), role));
    command.addAll(args);
    Files.createDirectories(runDir);
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.appendTo(runDir.resolve(log + ".log").toFile()));
    return new NodePeer(builder.start());
  }

  private void read() {
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        lines.add(Json.MAPPER.readTree(line));
      }
    } catch (Exception e) {
      lines.add(Json.MAPPER.createObjectNode().put("error", "stdout unreadable: " + e));
    }
  }

  /** The next line it reports; an {@code error} line or silence past timeout fails. */
  JsonNode next(Duration timeout) throws Exception {
    JsonNode line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (line == null) {
      throw new IllegalStateException("node peer " + process.pid() + " said nothing within " + timeout
          + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")"));
    }
    if (line.has("error")) {
      throw new IllegalStateException("node peer " + process.pid() + ": " + line.get("error"));
    }
    return line;
  }

  /** CPU time (user + system) the process has used so far. */
  Duration cpuTime() {
    return ProcessMetrics.cpuTime(process.pid());
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
