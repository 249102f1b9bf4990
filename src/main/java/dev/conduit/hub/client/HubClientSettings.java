package dev.conduit.hub.client;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The hub client's settings, read from {@code conduit.hub-client} (see hub-client.conf). Invalid values
 * are refused with IllegalArgumentException naming the setting as the command-line option of the same
 * name ({@code --stale-timeout} is {@code stale-timeout}).
 */
public record HubClientSettings(
    URI edgeUrl,
    String hubId,
    Path secretFile,
    Duration heartbeatInterval,
    Duration staleTimeout,
    Duration backoffMin,
    Duration backoffMax,
    double backoffJitter,
    Duration requestTimeout,
    int dedupeSize,
    int outgoingBuffer,
    Duration stopTimeout) {

  public static final String PATH = "conduit.hub-client";
  private static final int HTTP_DEFAULT_PORT = 80;
  private static final int HTTPS_DEFAULT_PORT = 443;

  public HubClientSettings {
    Objects.requireNonNull(edgeUrl, "edgeUrl");
    if (!("http".equals(edgeUrl.getScheme()) || "https".equals(edgeUrl.getScheme())) || edgeUrl.getHost() == null) {
      throw new IllegalArgumentException("--edge (edge-url) must be http://host[:port] or https://host[:port]: '" + edgeUrl + "'");
    }
    if (hubId == null || hubId.isBlank()) {
      throw new IllegalArgumentException("--hub-id is required");
    }
    Objects.requireNonNull(secretFile, "secretFile");
    requirePositive(heartbeatInterval, "--heartbeat-interval");
    requirePositive(staleTimeout, "--stale-timeout");
    requirePositive(backoffMin, "--backoff-min");
    requirePositive(requestTimeout, "--request-timeout");
    requirePositive(stopTimeout, "--stop-timeout");
    if (backoffMax.compareTo(backoffMin) < 0) {
      throw new IllegalArgumentException("--backoff-max must not be below --backoff-min");
    }
    if (backoffJitter < 0 || backoffJitter >= 1) {
      throw new IllegalArgumentException("--backoff-jitter must be in [0, 1): " + backoffJitter);
    }
    if (dedupeSize < 1 || outgoingBuffer < 1) {
      throw new IllegalArgumentException("--dedupe-size and --outgoing-buffer must be positive");
    }
  }

  public static HubClientSettings from(Config config) {
    Config c = config.getConfig(PATH);
    String secretFile = c.getString("secret-file");
    if (secretFile.isBlank()) {
      throw new IllegalArgumentException("--secret-file is required");
    }
    return new HubClientSettings(
        URI.create(c.getString("edge-url")),
        c.getString("hub-id"),
        Path.of(secretFile),
        c.getDuration("heartbeat-interval"),
        c.getDuration("stale-timeout"),
        c.getDuration("backoff-min"),
        c.getDuration("backoff-max"),
        c.getDouble("backoff-jitter"),
        c.getDuration("request-timeout"),
        c.getInt("dedupe-size"),
        c.getInt("outgoing-buffer"),
        c.getDuration("stop-timeout"));
  }

  public boolean tls() {
    return "https".equals(edgeUrl.getScheme());
  }

  public String edgeHost() {
    return edgeUrl.getHost();
  }

  public int edgePort() {
    return edgeUrl.getPort() != -1 ? edgeUrl.getPort() : tls() ? HTTPS_DEFAULT_PORT : HTTP_DEFAULT_PORT;
  }

  /** The shared secret, trimmed. Read on every connect so that a fixed file takes effect without a restart. */
  public String readSecret() throws IOException {
    String secret = Files.readString(secretFile, StandardCharsets.UTF_8).trim();
    if (secret.isEmpty()) {
      throw new IOException("secret file " + secretFile + " is empty");
    }
    return secret;
  }

  private static void requirePositive(Duration d, String name) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + d);
    }
  }
}
