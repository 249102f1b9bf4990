package dev.conduit.hub.client;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.cli.ConduitVersion;
import dev.conduit.cli.ConfigDefaults;
import dev.conduit.cli.DurationConverter;
import dev.conduit.cli.Sigterm;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code conduit hub --edge URL --hub-id ID --secret-file FILE [options]}: runs the hub client until the
 * process is stopped. Every option is a key of {@code conduit.hub-client} (hub-client.conf) and defaults to
 * its CONDUIT_HUB_CLIENT_* variable, else to the file.
 */
@Command(name = "hub", mixinStandardHelpOptions = true, versionProvider = ConduitVersion.class,
    defaultValueProvider = HubCommand.Defaults.class, sortOptions = false,
    description = {"The home side of the webhook relay: keeps a stream to the edge and POSTs each webhook to its "
        + "destination on this network. Runs until stopped (Ctrl-C, SIGTERM).",
        "Each option's default is its environment variable when set, else hub-client.conf."})
public final class HubCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(HubCommand.class);
  /** Beyond stop-timeout, what the rest of the actor system's shutdown may take after the client's stop. */
  private static final long STOP_MARGIN_SECONDS = 5;
  private static final int EXIT_FAILED = 1;

  @Spec
  private CommandSpec spec;

  @Option(names = {"--edge", "--edge-url"}, paramLabel = "URL", descriptionKey = "edge-url",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_EDGE_URL}",
      description = "Required. The edge's gRPC port: http://host:8081 (cleartext HTTP/2) or https://host[:port] "
          + "(TLS) (env CONDUIT_HUB_CLIENT_EDGE_URL).")
  private String edgeUrl;

  @Option(names = "--hub-id", paramLabel = "ID", descriptionKey = "hub-id",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_HUB_ID}",
      description = "Required. This hub's id at the edge (env CONDUIT_HUB_CLIENT_HUB_ID).")
  private String hubId;

  @Option(names = "--secret-file", paramLabel = "FILE", descriptionKey = "secret-file",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_SECRET_FILE}",
      description = "Required. File holding the hub's shared secret, re-read on every connect "
          + "(env CONDUIT_HUB_CLIENT_SECRET_FILE).")
  private String secretFile;

  @Option(names = "--heartbeat-interval", paramLabel = "DURATION", descriptionKey = "heartbeat-interval",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_HEARTBEAT_INTERVAL}", converter = DurationConverter.class,
      description = "Heartbeat to the edge this often (env CONDUIT_HUB_CLIENT_HEARTBEAT_INTERVAL; "
          + "now ${DEFAULT-VALUE}).")
  private Duration heartbeatInterval;

  @Option(names = "--stale-timeout", paramLabel = "DURATION", descriptionKey = "stale-timeout",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_STALE_TIMEOUT}", converter = DurationConverter.class,
      description = "A stream silent this long is replaced (env CONDUIT_HUB_CLIENT_STALE_TIMEOUT; "
          + "now ${DEFAULT-VALUE}).")
  private Duration staleTimeout;

  @Option(names = "--backoff-min", paramLabel = "DURATION", descriptionKey = "backoff-min",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_BACKOFF_MIN}", converter = DurationConverter.class,
      description = "First reconnect delay, doubling up to --backoff-max (env CONDUIT_HUB_CLIENT_BACKOFF_MIN; "
          + "now ${DEFAULT-VALUE}).")
  private Duration backoffMin;

  @Option(names = "--backoff-max", paramLabel = "DURATION", descriptionKey = "backoff-max",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_BACKOFF_MAX}", converter = DurationConverter.class,
      description = "Longest reconnect delay (env CONDUIT_HUB_CLIENT_BACKOFF_MAX; now ${DEFAULT-VALUE}).")
  private Duration backoffMax;

  @Option(names = "--backoff-jitter", paramLabel = "FRACTION", descriptionKey = "backoff-jitter",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_BACKOFF_JITTER}",
      description = "Each delay is shortened by a random fraction up to this, in [0, 1) "
          + "(env CONDUIT_HUB_CLIENT_BACKOFF_JITTER; now ${DEFAULT-VALUE}).")
  private double backoffJitter;

  @Option(names = "--request-timeout", paramLabel = "DURATION", descriptionKey = "request-timeout",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_REQUEST_TIMEOUT}", converter = DurationConverter.class,
      description = "Connect to a destination, and wait for its response head, at most this long "
          + "(env CONDUIT_HUB_CLIENT_REQUEST_TIMEOUT; now ${DEFAULT-VALUE}).")
  private Duration requestTimeout;

  @Option(names = "--dedupe-size", paramLabel = "COUNT", descriptionKey = "dedupe-size",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_DEDUPE_SIZE}",
      description = "Delivered webhook ids remembered to acknowledge redeliveries without POSTing again "
          + "(env CONDUIT_HUB_CLIENT_DEDUPE_SIZE; now ${DEFAULT-VALUE}).")
  private int dedupeSize;

  @Option(names = "--outgoing-buffer", paramLabel = "COUNT", descriptionKey = "outgoing-buffer",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_OUTGOING_BUFFER}",
      description = "Acks and heartbeats that may wait to be written to the edge "
          + "(env CONDUIT_HUB_CLIENT_OUTGOING_BUFFER; now ${DEFAULT-VALUE}).")
  private int outgoingBuffer;

  @Option(names = "--stop-timeout", paramLabel = "DURATION", descriptionKey = "stop-timeout",
      defaultValue = "${env:CONDUIT_HUB_CLIENT_STOP_TIMEOUT}", converter = DurationConverter.class,
      description = "Stopping waits this long for the stream to close (env CONDUIT_HUB_CLIENT_STOP_TIMEOUT; "
          + "now ${DEFAULT-VALUE}).")
  private Duration stopTimeout;

  /** Defaults from hub-client.conf, keys relative to {@code conduit.hub-client}. */
  static final class Defaults extends ConfigDefaults {
    Defaults() {
      super(HubClientSettings.PATH);
    }
  }

  @Override
  public Integer call() throws Exception {
    HubClientSettings settings = settings();
    // The client's graceful stop (HubClient.Stop) runs in this phase on SIGTERM: give it its whole stop-timeout.
    Config config = ConfigFactory.parseMap(Map.of("pekko.coordinated-shutdown.phases.service-requests-done.timeout",
        settings.stopTimeout().plusSeconds(1).toMillis() + "ms")).withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "conduit-hub", config);
    try {
      HubClient.start(system, settings);
    } catch (IOException e) {
      spec.commandLine().getErr().println("error: cannot read the secret: " + e.getMessage());
      system.terminate();
      return EXIT_FAILED;
    }
    // Runs until SIGTERM (exit 0 once the graceful stop, HubClient's shutdown task, has run) or Ctrl-C.
    return Sigterm.await(system, "hub client", () -> {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture()
          .get(settings.stopTimeout().plusSeconds(STOP_MARGIN_SECONDS).toSeconds(), TimeUnit.SECONDS);
    }, LOG);
  }

  /**
   * The settings from the options; a missing or invalid one is a usage error naming it.
   *
   * @throws ParameterException when a required option is missing or the settings are inconsistent
   */
  HubClientSettings settings() {
    require(edgeUrl, "--edge=URL", "CONDUIT_HUB_CLIENT_EDGE_URL");
    require(hubId, "--hub-id=ID", "CONDUIT_HUB_CLIENT_HUB_ID");
    require(secretFile, "--secret-file=FILE", "CONDUIT_HUB_CLIENT_SECRET_FILE");
    URI edge;
    try {
      edge = URI.create(edgeUrl);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "Invalid value for option '--edge': '" + edgeUrl
          + "' is not a URL: " + e.getMessage());
    }
    try {
      return new HubClientSettings(edge, hubId, Path.of(secretFile), heartbeatInterval, staleTimeout, backoffMin,
          backoffMax, backoffJitter, requestTimeout, dedupeSize, outgoingBuffer, stopTimeout);
    } catch (IllegalArgumentException e) {
      // The settings' messages name the hub-client.conf keys, which are the option names.
      throw new ParameterException(spec.commandLine(), "Invalid option: " + e.getMessage());
    }
  }

  private void require(String value, String option, String variable) {
    if (value == null || value.isBlank()) {
      throw new ParameterException(spec.commandLine(), "Missing required option: '" + option + "' (or " + variable
          + ")");
    }
  }
}
