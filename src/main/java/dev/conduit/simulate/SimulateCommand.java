package dev.conduit.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.cli.ConduitVersion;
import dev.conduit.noise.KeyPair;
import java.io.PrintWriter;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code conduit simulate instance|client}: smoke-test a deployed relay from the command line.
 * The instance registers, prints its id, key and a claim code, and echoes until stopped; the client
 * connects (by id or claim code), does the Noise handshake and checks its messages come back intact.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, versionProvider = ConduitVersion.class,
    description = "Smoke-test a running relay with a simulated instance and client.",
    subcommands = {SimulateCommand.Instance.class, SimulateCommand.Client.class})
public final class SimulateCommand implements Runnable {
  private static final Duration PROTOCOL_PING_INTERVAL = Duration.ofSeconds(30);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final int EXIT_OK = 0;
  private static final int EXIT_FAILED = 1;
  private static final String RELAY_DESCRIPTION = "The relay's WebSocket base URL (env CONDUIT_SIMULATE_RELAY; "
      + "default ${DEFAULT-VALUE}).";

  /** --relay, shared by both commands. */
  static final class RelayOption {
    @Option(names = "--relay", paramLabel = "URL", defaultValue = "${env:CONDUIT_SIMULATE_RELAY:-ws://127.0.0.1:8080}",
        description = RELAY_DESCRIPTION)
    URI relay;
  }

  @Spec
  private CommandSpec spec;

  /** {@code simulate} without instance or client. */
  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing command: instance or client");
  }

  @Command(name = "instance", mixinStandardHelpOptions = true, versionProvider = ConduitVersion.class,
      sortOptions = false,
      description = {"Registers a simulated instance, prints its instance_id, keys and a claim code, and echoes "
          + "every message until stopped (or for --duration-seconds).",
          "Exit 0 when the duration ran out, 1 when the relay closed the connection."})
  static final class Instance implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private RelayOption relayOption;

    @Option(names = "--instance-id", paramLabel = "ID", defaultValue = "${env:CONDUIT_SIMULATE_INSTANCE_ID}",
        description = "Instance id to register (env CONDUIT_SIMULATE_INSTANCE_ID; default: a random UUID).")
    private String instanceId;

    @Option(names = "--private-key", paramLabel = "BASE64", defaultValue = "${env:CONDUIT_SIMULATE_PRIVATE_KEY}",
        description = "X25519 private key, base64 (env CONDUIT_SIMULATE_PRIVATE_KEY; default: a new key). "
            + "Reuse the printed private_key to register the same instance again.")
    private String privateKey;

    @Option(names = "--user-id", paramLabel = "ID", defaultValue = "${env:CONDUIT_SIMULATE_USER_ID:-simulator}",
        description = "User id the claim code is created for (env CONDUIT_SIMULATE_USER_ID; default ${DEFAULT-VALUE}).")
    private String userId;

    @Option(names = "--duration-seconds", paramLabel = "N", defaultValue = "${env:CONDUIT_SIMULATE_DURATION_SECONDS:-0}",
        description = "Stop after N seconds; 0 runs until stopped (env CONDUIT_SIMULATE_DURATION_SECONDS; "
            + "default ${DEFAULT-VALUE}).")
    private long durationSeconds;

    @Override
    public Integer call() throws Exception {
      KeyPair key = privateKey == null ? KeyPair.generate() : KeyPair.fromPrivate(decodeKey());
      if (durationSeconds < 0) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option '--duration-seconds': "
            + durationSeconds + " is negative");
      }
      String id = instanceId == null ? UUID.randomUUID().toString() : instanceId;
      PrintWriter out = spec.commandLine().getOut();
      try (SimulatedInstance instance =
               SimulatedInstance.start(relayOption.relay, id, key, PROTOCOL_PING_INTERVAL, TIMEOUT)) {
        JsonNode claim = instance.createClaim(userId, TIMEOUT);
        out.println("registered instance_id=" + id);
        out.println("public_key=" + instance.publicKeyBase64());
        out.println("private_key=" + Base64.getEncoder().encodeToString(key.privateKey()));
        out.println("claim_code=" + claim.path("code").asText() + " expires_at=" + claim.path("expires_at").asText());
        out.println("echoing; stop with Ctrl-C");
        out.flush();
        long deadline = durationSeconds > 0
            ? System.nanoTime() + Duration.ofSeconds(durationSeconds).toNanos() : Long.MAX_VALUE;
        while (System.nanoTime() < deadline && !instance.connection().isClosed()) {
          JsonNode event = instance.events().poll(1, TimeUnit.SECONDS);
          if (event != null) {
            out.println("event " + event);
            out.flush();
          }
        }
        out.println("echoed_messages=" + instance.echoedMessages());
        return instance.connection().isClosed() && durationSeconds == 0 ? EXIT_FAILED : EXIT_OK;
      }
    }

    private byte[] decodeKey() {
      try {
        return Base64.getDecoder().decode(privateKey);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option '--private-key': not base64: "
            + e.getMessage());
      }
    }
  }

  @Command(name = "client", mixinStandardHelpOptions = true, versionProvider = ConduitVersion.class,
      sortOptions = false,
      description = {"Connects to an instance (by --instance-id or --claim) through the relay, does the Noise_IK "
          + "handshake and checks that every encrypted message comes back intact.",
          "Exit 0 when all did, 1 otherwise."})
  static final class Client implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private RelayOption relayOption;

    @Option(names = "--instance-id", paramLabel = "ID", defaultValue = "${env:CONDUIT_SIMULATE_INSTANCE_ID}",
        description = "The instance to connect to (env CONDUIT_SIMULATE_INSTANCE_ID). This or --claim.")
    private String instanceId;

    @Option(names = "--claim", paramLabel = "CODE", defaultValue = "${env:CONDUIT_SIMULATE_CLAIM}",
        description = "A claim code the instance printed (env CONDUIT_SIMULATE_CLAIM). This or --instance-id.")
    private String claim;

    @Option(names = "--messages", paramLabel = "N", defaultValue = "${env:CONDUIT_SIMULATE_MESSAGES:-10}",
        description = "Messages to echo (env CONDUIT_SIMULATE_MESSAGES; default ${DEFAULT-VALUE}).")
    private int messages;

    @Option(names = "--size", paramLabel = "BYTES", defaultValue = "${env:CONDUIT_SIMULATE_SIZE:-1024}",
        description = "Bytes per message (env CONDUIT_SIMULATE_SIZE; default ${DEFAULT-VALUE}).")
    private int size;

    @Override
    public Integer call() throws Exception {
      if ((claim == null) == (instanceId == null)) {
        throw new ParameterException(spec.commandLine(), claim == null
            ? "Missing required option: '--instance-id=ID' or '--claim=CODE'"
            : "Options '--instance-id' and '--claim' are mutually exclusive (one may come from its variable)");
      }
      if (messages < 0 || size < 0) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option '"
            + (messages < 0 ? "--messages" : "--size") + "': must not be negative");
      }
      PrintWriter out = spec.commandLine().getOut();
      SimulatedClient client;
      try {
        client = claim != null ? SimulatedClient.connectWithClaim(relayOption.relay, claim, TIMEOUT)
            : SimulatedClient.connectToInstance(relayOption.relay, instanceId, TIMEOUT);
      } catch (IllegalStateException e) {
        out.println("FAILED: " + e.getMessage());
        return EXIT_FAILED;
      }
      try (client) {
        out.println("connected session_id=" + client.sessionId() + " instance_id="
            + client.connected().path("instance_id").asText());
        SecureRandom random = new SecureRandom();
        long started = System.nanoTime();
        for (int i = 0; i < messages; i++) {
          byte[] data = new byte[size];
          random.nextBytes(data);
          if (!Arrays.equals(data, client.echo(data))) {
            out.println("FAILED: message " + i + " came back different");
            return EXIT_FAILED;
          }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        out.printf("ok: %d encrypted messages of %d bytes echoed intact in %.3f s%n", messages, size, seconds);
        return EXIT_OK;
      }
    }
  }
}
