package dev.conduit.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conduit.noise.KeyPair;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * {@code simulate instance|client}: smoke-test a deployed relay from the command line.
 * The instance registers, prints its id, key and a claim code, and echoes until stopped; the client
 * connects (by id or claim code), does the Noise handshake and checks its messages come back intact.
 */
public final class Simulator {
  private static final Duration PROTOCOL_PING_INTERVAL = Duration.ofSeconds(30);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final String DEFAULT_RELAY = "ws://127.0.0.1:8080";

  private Simulator() {}

  public static int run(String[] args) throws Exception {
    if (args.length == 0 || args[0].startsWith("-")) {
      return usage();
    }
    Map<String, String> options = options(Arrays.copyOfRange(args, 1, args.length));
    if (options == null) {
      return usage();
    }
    URI relay = URI.create(options.getOrDefault("relay", DEFAULT_RELAY));
    return switch (args[0]) {
      case "instance" -> instance(relay, options);
      case "client" -> client(relay, options);
      default -> usage();
    };
  }

  private static int instance(URI relay, Map<String, String> options) throws Exception {
    String instanceId = options.getOrDefault("instance-id", UUID.randomUUID().toString());
    KeyPair key = options.containsKey("private-key")
        ? KeyPair.fromPrivate(Base64.getDecoder().decode(options.get("private-key"))) : KeyPair.generate();
    try (SimulatedInstance instance = SimulatedInstance.start(relay, instanceId, key, PROTOCOL_PING_INTERVAL, TIMEOUT)) {
      JsonNode claim = instance.createClaim(options.getOrDefault("user-id", "simulator"), TIMEOUT);
      System.out.println("registered instance_id=" + instanceId);
      System.out.println("public_key=" + instance.publicKeyBase64());
      System.out.println("private_key=" + Base64.getEncoder().encodeToString(key.privateKey()));
      System.out.println("claim_code=" + claim.path("code").asText() + " expires_at=" + claim.path("expires_at").asText());
      System.out.println("echoing; stop with Ctrl-C");
      long seconds = Long.parseLong(options.getOrDefault("duration-seconds", "0"));
      long deadline = seconds > 0 ? System.nanoTime() + Duration.ofSeconds(seconds).toNanos() : Long.MAX_VALUE;
      while (System.nanoTime() < deadline && !instance.connection().isClosed()) {
        JsonNode event = instance.events().poll(1, TimeUnit.SECONDS);
        if (event != null) {
          System.out.println("event " + event);
        }
      }
      System.out.println("echoed_messages=" + instance.echoedMessages());
      return instance.connection().isClosed() && seconds == 0 ? 1 : 0;
    }
  }

  private static int client(URI relay, Map<String, String> options) throws Exception {
    int messages = Integer.parseInt(options.getOrDefault("messages", "10"));
    int size = Integer.parseInt(options.getOrDefault("size", "1024"));
    SimulatedClient client;
    try {
      if (options.containsKey("claim")) {
        client = SimulatedClient.connectWithClaim(relay, options.get("claim"), TIMEOUT);
      } else if (options.containsKey("instance-id")) {
        client = SimulatedClient.connectToInstance(relay, options.get("instance-id"), TIMEOUT);
      } else {
        return usage();
      }
    } catch (IllegalStateException e) {
      System.out.println("FAILED: " + e.getMessage());
      return 1;
    }
    try (client) {
      System.out.println("connected session_id=" + client.sessionId() + " instance_id="
          + client.connected().path("instance_id").asText());
      SecureRandom random = new SecureRandom();
      long started = System.nanoTime();
      for (int i = 0; i < messages; i++) {
        byte[] data = new byte[size];
        random.nextBytes(data);
        if (!Arrays.equals(data, client.echo(data))) {
          System.out.println("FAILED: message " + i + " came back different");
          return 1;
        }
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf("ok: %d encrypted messages of %d bytes echoed intact in %.3f s%n", messages, size, seconds);
      return 0;
    }
  }

  /** --name value pairs; null when malformed. */
  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        return null;
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    return options;
  }

  private static int usage() {
    System.out.println("""
        usage: simulate instance [--relay ws://host:port] [--instance-id ID] [--private-key B64] [--user-id U] [--duration-seconds N]
               simulate client   [--relay ws://host:port] (--instance-id ID | --claim CODE) [--messages N] [--size BYTES]""");
    return 2;
  }
}
