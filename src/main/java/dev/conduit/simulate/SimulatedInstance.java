package dev.conduit.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.noise.KeyPair;
import dev.conduit.noise.NoiseIK;
import dev.conduit.noise.Transport;
import dev.conduit.tunnel.PossessionProof;
import java.net.URI;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A self-hosted instance as the relay sees it: registers its id and static X25519 key (proving possession
 * of the private key when the relay challenges it, relay protocol 1.1), heartbeats, answers the relay's
 * pings, answers each client's Noise IK handshake as responder, and echoes every decrypted message back
 * encrypted. Frames other than session data are kept in {@link #events()} for whoever watches.
 */
public final class SimulatedInstance implements AutoCloseable {
  public static final String TUNNEL_PATH = "/relay/tunnel/websocket";
  private static final byte[] PROLOGUE = new byte[0];
  private static final Duration READ_POLL = Duration.ofMillis(200);

  private final RelayConnection connection;
  private final String instanceId;
  private final KeyPair staticKey;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
  private final List<String> wirePayloads = new CopyOnWriteArrayList<>();
  private final AtomicLong echoed = new AtomicLong();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "simulated-instance-ping");
    t.setDaemon(true);
    return t;
  });
  private final Thread reader;
  private volatile boolean running = true;

  private static final class Session {
    NoiseIK handshake;
    Transport transport;
  }

  private SimulatedInstance(RelayConnection connection, String instanceId, KeyPair staticKey) {
    this.connection = connection;
    this.instanceId = instanceId;
    this.staticKey = staticKey;
    this.reader = new Thread(this::readLoop, "simulated-instance-" + instanceId);
    this.reader.setDaemon(true);
  }

  /**
   * Connects, registers (offering relay protocol 1.1 and proving possession of its key) and starts
   * echoing; pingInterval is the protocol's 30 s in real use.
   */
  public static SimulatedInstance start(URI relay, String instanceId, KeyPair staticKey, Duration pingInterval,
                                        Duration timeout) throws Exception {
    return start(relay, instanceId, staticKey, pingInterval, timeout, true);
  }

  /** As {@link #start}, but as an instance from before relay protocol 1.1: it offers 1.0 only and proves nothing. */
  public static SimulatedInstance startWithoutProof(URI relay, String instanceId, KeyPair staticKey,
                                                    Duration pingInterval, Duration timeout) throws Exception {
    return start(relay, instanceId, staticKey, pingInterval, timeout, false);
  }

  private static SimulatedInstance start(URI relay, String instanceId, KeyPair staticKey, Duration pingInterval,
                                         Duration timeout, boolean proves) throws Exception {
    RelayConnection connection = RelayConnection.open(relay.resolve(TUNNEL_PATH), timeout);
    connection.send(register(instanceId, staticKey, proves));
    JsonNode reply = connection.receive(timeout);
    if (reply != null && "challenge".equals(reply.path("type").asText())) {
      connection.send(prove(reply, instanceId, staticKey));
      reply = connection.receive(timeout);
    }
    if (reply == null || !"registered".equals(reply.path("type").asText())) {
      connection.close();
      throw new IllegalStateException("registration refused: " + reply);
    }
    SimulatedInstance instance = new SimulatedInstance(connection, instanceId, staticKey);
    instance.reader.start();
    instance.scheduler.scheduleAtFixedRate(instance::ping, pingInterval.toMillis(), pingInterval.toMillis(),
        TimeUnit.MILLISECONDS);
    return instance;
  }

  /** The register frame; with proves, relay_protocol offers 1.1 (possession proof) besides 1.0. */
  public static ObjectNode register(String instanceId, KeyPair staticKey, boolean proves) {
    ObjectNode register = RelayConnection.frame("register")
        .put("instance_id", instanceId)
        .put("public_key", Base64.getEncoder().encodeToString(staticKey.publicKey()));
    register.putArray("direct_urls").add("http://192.168.1.10:8096");
    ObjectNode versions = register.putObject("protocol_versions");
    for (String protocol : List.of("relay_protocol", "encryption_protocol", "pairing_protocol", "api_protocol")) {
      versions.putArray(protocol).add("1.0");
    }
    if (proves) {
      ((com.fasterxml.jackson.databind.node.ArrayNode) versions.get("relay_protocol")).add("1.1");
    }
    return register;
  }

  /** The prove frame answering a challenge frame. */
  public static ObjectNode prove(JsonNode challenge, String instanceId, KeyPair staticKey) {
    byte[] mac = PossessionProof.prove(staticKey,
        Base64.getDecoder().decode(challenge.path("relay_public_key").asText()),
        Base64.getDecoder().decode(challenge.path("nonce").asText()), instanceId);
    return RelayConnection.frame("prove").put("mac", Base64.getEncoder().encodeToString(mac));
  }

  /** Asks the relay for a claim code; returns the claim_created frame. */
  public JsonNode createClaim(String userId, Duration timeout) throws Exception {
    String requestId = "req-" + System.nanoTime();
    connection.send(RelayConnection.frame("create_claim").put("user_id", userId).put("request_id", requestId));
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode event = events.poll(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
      if (event != null && "claim_created".equals(event.path("type").asText())
          && requestId.equals(event.path("request_id").asText())) {
        return event;
      }
      if (event != null && "error".equals(event.path("type").asText())) {
        throw new IllegalStateException("create_claim refused: " + event);
      }
    }
    throw new IllegalStateException("no claim_created within " + timeout);
  }

  private void readLoop() {
    try {
      while (running) {
        JsonNode frame = connection.receive(READ_POLL);
        if (frame != null) {
          handle(frame);
        } else if (connection.isClosed()) {
          // The last frames may have arrived together with the close: take them before leaving.
          for (JsonNode last = connection.receive(Duration.ZERO); last != null; last = connection.receive(Duration.ZERO)) {
            handle(last);
          }
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      if (running) {
        events.add(RelayConnection.frame("simulator_failure").put("message", e.toString()));
      }
    }
  }

  /** One frame from the relay; a frame this simulator cannot handle is reported, not fatal. */
  private void handle(JsonNode frame) {
    try {
      switch (frame.path("type").asText()) {
        case "connection" -> sessions.put(frame.path("session_id").asText(), new Session());
        case "relay_message" -> onData(frame.path("session_id").asText(), frame.path("payload").asText());
        case "session_closed" -> {
          sessions.remove(frame.path("session_id").asText());
          events.add(frame);
        }
        case "pong" -> { }
        case "ping" -> connection.send("{\"type\":\"pong\"}"); // the relay's liveness probe
        default -> events.add(frame);
      }
    } catch (Exception e) {
      events.add(RelayConnection.frame("simulator_failure").put("message", e.toString()));
    }
  }

  private void onData(String sessionId, String payload) throws Exception {
    Session session = sessions.get(sessionId);
    if (session == null) {
      return;
    }
    wirePayloads.add(payload);
    byte[] data = Base64.getDecoder().decode(payload);
    if (session.transport == null) {
      session.handshake = NoiseIK.responder(staticKey, PROLOGUE);
      session.handshake.readMessage(data);
      reply(sessionId, session.handshake.writeMessage(new byte[0]));
      session.transport = session.handshake.split();
      return;
    }
    byte[] plaintext = session.transport.decrypt(data);
    // Counted before the reply goes out: a client that has its echo must find it counted.
    echoed.incrementAndGet();
    reply(sessionId, session.transport.encrypt(plaintext));
  }

  private void reply(String sessionId, byte[] data) throws Exception {
    String payload = Base64.getEncoder().encodeToString(data);
    wirePayloads.add(payload);
    connection.send(RelayConnection.frame("relay_message").put("session_id", sessionId).put("payload", payload));
  }

  private void ping() {
    try {
      connection.send("{\"type\":\"ping\"}");
    } catch (Exception e) {
      // the reader notices the closed socket
    }
  }

  public String instanceId() {
    return instanceId;
  }

  public String publicKeyBase64() {
    return Base64.getEncoder().encodeToString(staticKey.publicKey());
  }

  /** Frames other than session data, in arrival order (errors, session_closed, claim_created...). */
  public BlockingQueue<JsonNode> events() {
    return events;
  }

  /** Every base64 payload this instance exchanged through the relay, as it was on the wire. */
  public List<String> wirePayloads() {
    return wirePayloads;
  }

  public long echoedMessages() {
    return echoed.get();
  }

  public RelayConnection connection() {
    return connection;
  }

  @Override
  public void close() {
    running = false;
    scheduler.shutdownNow();
    connection.close();
  }
}
