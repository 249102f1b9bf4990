package dev.conduit.webhook;

import dev.conduit.persistence.Database;
import dev.conduit.webhook.signature.Provider;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Endpoint definitions: a plain table ({@code webhook_endpoints}) as the source of truth, and an
 * in-memory copy read on every ingest. Writes go to the table first and to the copy only once
 * committed. Thread-safe. Assumes one edge process per database (as does the rest of Conduit).
 */
public final class EndpointStore {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Characters the hub_id column holds: hub ids in conduit.hub.hubs are refused at start-up when longer. */
  public static final int HUB_ID_LENGTH = 256;

  private final Database database;
  private final Map<String, Endpoint> cache = new ConcurrentHashMap<>();

  public EndpointStore(Database database) {
    this.database = database;
  }

  /** Creates the table if absent and loads every endpoint into memory. */
  public CompletionStage<Integer> start() {
    return database.withConnection("load webhook endpoints", c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS webhook_endpoints ("
            + "id VARCHAR(64) PRIMARY KEY, name VARCHAR(256) NOT NULL, provider VARCHAR(32) NOT NULL, "
            + "secret VARCHAR(1024), destination_url VARCHAR(2048) NOT NULL, hub_id VARCHAR(" + HUB_ID_LENGTH + ") NOT NULL, "
            + "created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)");
        try (ResultSet rs = s.executeQuery("SELECT id, name, provider, secret, destination_url, hub_id, "
            + "created_at, updated_at FROM webhook_endpoints")) {
          while (rs.next()) {
            Endpoint e = new Endpoint(rs.getString(1), rs.getString(2),
                Provider.fromWireName(rs.getString(3)).orElse(Provider.GENERIC), rs.getString(4), rs.getString(5),
                rs.getString(6), Instant.ofEpochMilli(rs.getLong(7)), Instant.ofEpochMilli(rs.getLong(8)));
            cache.put(e.id(), e);
          }
        }
        return cache.size();
      }
    });
  }

  public Optional<Endpoint> get(String id) {
    return id == null ? Optional.empty() : Optional.ofNullable(cache.get(id));
  }

  public List<Endpoint> all() {
    List<Endpoint> list = new ArrayList<>(cache.values());
    list.sort(Comparator.comparing(Endpoint::createdAt).thenComparing(Endpoint::id));
    return list;
  }

  public List<Endpoint> ofHub(String hubId) {
    return cache.values().stream().filter(e -> e.hubId().equals(hubId)).toList();
  }

  /** 128 random bits, base64url without padding: unguessable and URL-safe. */
  public static String newId() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  public CompletionStage<Endpoint> create(String name, Provider provider, String secret, String destinationUrl,
                                          String hubId, Instant now) {
    Endpoint endpoint = new Endpoint(newId(), name, provider, secret, destinationUrl, hubId, now, now);
    return database.withConnection("store endpoint", c -> {
      try (PreparedStatement s = c.prepareStatement(
          "INSERT INTO webhook_endpoints (id, name, provider, secret, destination_url, hub_id, created_at, updated_at) "
              + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
        bind(s, endpoint);
        s.executeUpdate();
      }
      cache.put(endpoint.id(), endpoint);
      return endpoint;
    });
  }

  /** Replaces the stored definition (same id and created_at); empty when the endpoint does not exist. */
  public CompletionStage<Optional<Endpoint>> update(Endpoint endpoint) {
    return database.withConnection("update endpoint", c -> {
      try (PreparedStatement s = c.prepareStatement(
          "UPDATE webhook_endpoints SET name = ?, provider = ?, secret = ?, destination_url = ?, hub_id = ?, "
              + "updated_at = ? WHERE id = ?")) {
        s.setString(1, endpoint.name());
        s.setString(2, endpoint.provider().wireName());
        s.setString(3, endpoint.secret());
        s.setString(4, endpoint.destinationUrl());
        s.setString(5, endpoint.hubId());
        s.setLong(6, endpoint.updatedAt().toEpochMilli());
        s.setString(7, endpoint.id());
        if (s.executeUpdate() == 0) {
          return Optional.<Endpoint>empty();
        }
      }
      cache.put(endpoint.id(), endpoint);
      return Optional.of(endpoint);
    });
  }

  /** True when it existed. Webhooks still queued for it stay in the journal, never delivered. */
  public CompletionStage<Boolean> delete(String id) {
    return database.withConnection("delete endpoint", c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM webhook_endpoints WHERE id = ?")) {
        s.setString(1, id);
        boolean existed = s.executeUpdate() > 0;
        cache.remove(id);
        return existed;
      }
    });
  }

  private static void bind(PreparedStatement s, Endpoint e) throws SQLException {
    s.setString(1, e.id());
    s.setString(2, e.name());
    s.setString(3, e.provider().wireName());
    s.setString(4, e.secret());
    s.setString(5, e.destinationUrl());
    s.setString(6, e.hubId());
    s.setLong(7, e.createdAt().toEpochMilli());
    s.setLong(8, e.updatedAt().toEpochMilli());
  }
}
