package dev.conduit.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.noise.KeyPair;
import dev.conduit.noise.NoiseIK;
import dev.conduit.noise.Transport;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A mobile client: connects to an instance through the relay (by id or claim code), runs the Noise
 * IK handshake as initiator against the instance's registered key, then exchanges encrypted data.
 */
public final class SimulatedClient implements AutoCloseable {
  public static final String CLIENT_PATH = "/relay/client/websocket";
  private static final byte[] PROLOGUE = new byte[0];

  private final RelayConnection connection;
  private final JsonNode connected;
  private final Transport transport;
  private final Duration timeout;
  private final List<String> wirePayloads = new CopyOnWriteArrayList<>();

  private SimulatedClient(RelayConnection connection, JsonNode connected, Transport transport, Duration timeout,
                          List<String> handshakePayloads) {
    this.connection = connection;
    this.connected = connected;
    this.transport = transport;
    this.timeout = timeout;
    this.wirePayloads.addAll(handshakePayloads);
  }

  public static SimulatedClient connectToInstance(URI relay, String instanceId, Duration timeout) throws Exception {
    return connect(relay, "instance_id", instanceId, timeout);
  }

  public static SimulatedClient connectWithClaim(URI relay, String claimCode, Duration timeout) throws Exception {
    return connect(relay, "claim_code", claimCode, timeout);
  }

  private static SimulatedClient connect(URI relay, String field, String value, Duration timeout) throws Exception {
    KeyPair clientKey = KeyPair.generate();
    RelayConnection connection = RelayConnection.open(relay.resolve(CLIENT_PATH), timeout);
    try {
      ObjectNode connect = RelayConnection.frame("connect").put(field, value)
          .put("client_public_key", Base64.getEncoder().encodeToString(clientKey.publicKey()));
      connect.putObject("protocol_versions").putArray("relay_protocol").add("1.0");
      connection.send(connect);
      JsonNode connected = connection.expect("connected", timeout);
      byte[] instanceKey = Base64.getDecoder().decode(connected.path("public_key").asText());

      NoiseIK handshake = NoiseIK.initiator(clientKey, instanceKey, PROLOGUE);
      String first = Base64.getEncoder().encodeToString(handshake.writeMessage(new byte[0]));
      connection.send(RelayConnection.frame("message").put("payload", first));
      String second = connection.expect("message", timeout).path("payload").asText();
      handshake.readMessage(Base64.getDecoder().decode(second));
      return new SimulatedClient(connection, connected, handshake.split(), timeout, List.of(first, second));
    } catch (Exception e) {
      connection.close();
      throw e;
    }
  }

  /**
   * Sends data encrypted, split into Noise-sized frames, and returns what the instance echoed back,
   * decrypted and reassembled.
   */
  public byte[] echo(byte[] data) throws Exception {
    for (int offset = 0; offset < data.length || offset == 0; offset += Transport.MAX_PLAINTEXT) {
      byte[] chunk = Arrays.copyOfRange(data, offset, Math.min(data.length, offset + Transport.MAX_PLAINTEXT));
      send(chunk);
      if (data.length == 0) {
        break;
      }
    }
    ByteArrayOutputStream echoed = new ByteArrayOutputStream(data.length);
    do {
      echoed.write(receive());
    } while (echoed.size() < data.length);
    return echoed.toByteArray();
  }

  public void send(byte[] plaintext) throws Exception {
    String payload = Base64.getEncoder().encodeToString(transport.encrypt(plaintext));
    wirePayloads.add(payload);
    connection.send(RelayConnection.frame("message").put("payload", payload));
  }

  public byte[] receive() throws Exception {
    String payload = connection.expect("message", timeout).path("payload").asText();
    wirePayloads.add(payload);
    return transport.decrypt(Base64.getDecoder().decode(payload));
  }

  /** The relay's connected frame. */
  public JsonNode connected() {
    return connected;
  }

  public String sessionId() {
    return connected.path("session_id").asText();
  }

  /** Every base64 payload this client exchanged through the relay, as it was on the wire. */
  public List<String> wirePayloads() {
    return wirePayloads;
  }

  public RelayConnection connection() {
    return connection;
  }

  @Override
  public void close() {
    connection.close();
  }
}
