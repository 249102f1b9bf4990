package dev.conduit.hub.client;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * {@code hub --edge URL --hub-id ID --secret-file FILE [--<setting> VALUE ...]}: runs the hub client until
 * the process is stopped. Any key of {@code conduit.hub-client} may be given as a flag (e.g.
 * {@code --request-timeout 5s}); flags win over environment variables and hub-client.conf.
 */
public final class HubCommand {
  private static final int EXIT_OK = 0;
  private static final int EXIT_FAILED = 1;
  private static final int EXIT_USAGE = 2;
  private static final Map<String, String> FLAG_ALIASES = Map.of("edge", "edge-url");

  private HubCommand() {}

  public static int run(String[] args) throws Exception {
    if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
      return usage(EXIT_OK);
    }
    Config defaults = ConfigFactory.load();
    Map<String, String> overrides = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        return usage(EXIT_USAGE);
      }
      String name = args[i].substring(2);
      String key = HubClientSettings.PATH + "." + FLAG_ALIASES.getOrDefault(name, name);
      if (!defaults.hasPath(key)) {
        System.err.println("unknown option " + args[i]);
        return usage(EXIT_USAGE);
      }
      overrides.put(key, args[i + 1]);
    }
    Config config = ConfigFactory.parseMap(overrides).withFallback(defaults);
    HubClientSettings settings;
    try {
      settings = HubClientSettings.from(config);
    } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
      System.err.println("error: " + e.getMessage());
      return usage(EXIT_USAGE);
    }
    // The client's graceful stop (HubClient.Stop) runs in this phase on SIGTERM: give it its whole stop-timeout.
    config = ConfigFactory.parseMap(Map.of("pekko.coordinated-shutdown.phases.service-requests-done.timeout",
        settings.stopTimeout().plusSeconds(1).toMillis() + "ms")).withFallback(config);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "conduit-hub", config);
    try {
      HubClient.start(system, settings);
    } catch (IOException e) {
      System.err.println("error: cannot read the secret: " + e.getMessage());
      system.terminate();
      return EXIT_FAILED;
    }
    // Runs until Ctrl-C / SIGTERM: Pekko's shutdown hook terminates the system, which closes the stream.
    system.getWhenTerminated().toCompletableFuture().get();
    return EXIT_OK;
  }

  private static int usage(int exitCode) {
    System.out.println("""
        usage: java -jar conduit.jar hub --edge URL --hub-id ID --secret-file FILE [--<setting> VALUE ...]
          --edge URL            the edge's gRPC port: http://host:8081 (cleartext HTTP/2) or https://host[:port] (TLS)
          --hub-id ID           this hub's id at the edge
          --secret-file FILE    file holding the hub's shared secret
          other settings (see hub-client.conf; also CONDUIT_HUB_CLIENT_* variables):
          --heartbeat-interval 30s  --stale-timeout 60s  --backoff-min 1s  --backoff-max 60s
          --backoff-jitter 0.2  --request-timeout 10s  --dedupe-size 10000  --outgoing-buffer 1024  --stop-timeout 10s""");
    return exitCode;
  }
}
