package dev.conduit;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.conduit.cli.ConduitVersion;
import dev.conduit.cli.ConfigDefaults;
import dev.conduit.cli.Sigterm;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code conduit serve}: runs the relay until SIGTERM. The options are the settings operators change most;
 * every other one is read from the configuration files and its CONDUIT_* variable (README, Configuration).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = ConduitVersion.class,
    defaultValueProvider = ServeCommand.Defaults.class, sortOptions = false,
    description = {"Runs the relay until SIGTERM: exit 0 once stopped gracefully, 1 if that did not finish in time "
        + "or the relay could not start.",
        "Each option's default is its environment variable when set, else application.conf; every other setting "
            + "is read from its CONDUIT_* variable (see the README)."})
final class ServeCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);
  private static final int EXIT_FAILED = Sigterm.EXIT_FAILED;
  private static final int EXIT_USAGE = 2;

  @Option(names = "--http-host", paramLabel = "HOST", descriptionKey = "conduit.http.host",
      defaultValue = "${env:CONDUIT_HTTP_HOST}",
      description = "Address of the public HTTP/WebSocket port (env CONDUIT_HTTP_HOST; now ${DEFAULT-VALUE}).")
  String httpHost;

  @Option(names = "--http-port", paramLabel = "PORT", descriptionKey = "conduit.http.port",
      defaultValue = "${env:CONDUIT_HTTP_PORT}",
      description = "Public HTTP/WebSocket port (env CONDUIT_HTTP_PORT; now ${DEFAULT-VALUE}).")
  Integer httpPort;

  @Option(names = "--grpc-port", paramLabel = "PORT", descriptionKey = "conduit.hub.grpc-port",
      defaultValue = "${env:CONDUIT_GRPC_PORT}",
      description = "Port of the hub stream (gRPC) (env CONDUIT_GRPC_PORT; now ${DEFAULT-VALUE}).")
  Integer grpcPort;

  @Option(names = "--data-dir", paramLabel = "DIR", descriptionKey = "conduit.data-dir",
      defaultValue = "${env:CONDUIT_DATA_DIR}",
      description = "Directory of the embedded H2 journal (env CONDUIT_DATA_DIR; now ${DEFAULT-VALUE}).")
  String dataDir;

  @Option(names = "--db-url", paramLabel = "JDBC_URL", descriptionKey = "conduit.db.url",
      defaultValue = "${env:CONDUIT_DB_URL}",
      description = "Journal database: empty for H2 under --data-dir, or jdbc:postgresql://host:5432/db "
          + "(env CONDUIT_DB_URL; the password only from CONDUIT_DB_PASSWORD).")
  String dbUrl;

  /** Defaults from application.conf (absolute keys). */
  static final class Defaults extends ConfigDefaults {
    Defaults() {
      super("");
    }
  }

  /**
   * Left to the JVM, SIGTERM (how service managers and container runtimes stop a process) would run
   * Pekko's coordinated shutdown from a shutdown hook and end with status 143; here the same coordinated
   * shutdown runs first and the process exits 0 (1 if it did not finish in time).
   */
  @Override
  public Integer call() throws Exception {
    Map<String, Object> overrides = new HashMap<>();
    put(overrides, "conduit.http.host", httpHost);
    put(overrides, "conduit.http.port", httpPort);
    put(overrides, "conduit.hub.grpc-port", grpcPort);
    put(overrides, "conduit.data-dir", dataDir);
    put(overrides, "conduit.db.url", dbUrl);
    ConduitServer server;
    try {
      server = ConduitServer.start(ConfigFactory.parseMap(overrides));
    } catch (ExecutionException | TimeoutException e) {
      // The guardian logged the cause; this is the process's last word.
      LOG.error("conduit did not start: {}", e.getCause() == null ? e.toString() : e.getCause().getMessage());
      // A bad setting is a usage error, like a bad option (exit 2); anything else failed to run (exit 1).
      return e.getCause() != null && e.getCause().getCause() instanceof ConfigException ? EXIT_USAGE : EXIT_FAILED;
    }
    return Sigterm.await(server.system(), "conduit", server::close, LOG);
  }

  private static void put(Map<String, Object> overrides, String path, Object value) {
    if (value != null) {
      overrides.put(path, value);
    }
  }
}
