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
import java.util.function.Consumer;

/**
 * Endpoint definitions: a plain table ({@code webhook_endpoints}) as the source of truth, and an
 * in-memory copy read on every ingest. Writes go to the table first and to the copy only once
 * committed. Thread-safe. Every node of a cluster has its own copy: a change made here is announced to the
 * listener set by {@link #onChange} (which tells the other nodes, see {@link EndpointChanges}), and a node
 * told of a change reads that endpoint again with {@link #reload}; {@link #reloadAll} catches up with
 * anything an announcement missed.
 */
public final class EndpointStore {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Characters the hub_id column holds: hub ids in conduit.hub.hubs are refused at start-up when longer. */
  public static final int HUB_ID_LENGTH = 256;

  private final Database database;
  private final Map<String, Endpoint> cache = new ConcurrentHashMap<>();
  private volatile Consumer<String> changed = id -> { };
  /** Counts changes to the copy made one by one (here, or read again by id): see {@link #reloadAll}. */
  private final java.util.concurrent.atomic.AtomicLong edits = new java.util.concurrent.atomic.AtomicLong();

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
        try (ResultSet rs = s.executeQuery(SELECT)) {
          while (rs.next()) {
            Endpoint e = endpoint(rs);
            cache.put(e.id(), e);
          }
        }
        return cache.size();
      }
    });
  }

  /** Called with an endpoint's id after this store created, updated or deleted it (committed). */
  public void onChange(Consumer<String> listener) {
    this.changed = listener;
  }

  /** Reads one endpoint again (another node changed it): cached when it exists, forgotten when not. */
  public CompletionStage<Optional<Endpoint>> reload(String id) {
    return database.withConnection("reload endpoint", c -> {
      try (PreparedStatement s = c.prepareStatement(SELECT + " WHERE id = ?")) {
        s.setString(1, id);
        try (ResultSet rs = s.executeQuery()) {
          if (rs.next()) {
            Endpoint e = endpoint(rs);
            edit(() -> cache.put(id, e));
            return Optional.of(e);
          }
          edit(() -> cache.remove(id));
          return Optional.<Endpoint>empty();
        }
      }
    });
  }

  /**
   * Reads every endpoint again and makes the copy match the table (the safety net for a change whose
   * announcement this node missed). Returns how many endpoints there are. Nothing is applied when the copy
   * was changed one by one while the table was read (the read may predate that change, e.g. bring back an
   * endpoint just deleted): the next refresh applies it.
   */
  public CompletionStage<Integer> reloadAll() {
    return database.withConnection("reload webhook endpoints", c -> {
      // Only what was cached before the read may be forgotten: an endpoint created here meanwhile
      // (cached once committed, maybe after this read) stays.
      long editsBefore = edits.get();
      java.util.Set<String> before = java.util.Set.copyOf(cache.keySet());
      Map<String, Endpoint> fresh = new java.util.HashMap<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(SELECT)) {
        while (rs.next()) {
          Endpoint e = endpoint(rs);
          fresh.put(e.id(), e);
        }
      }
      synchronized (edits) {
        if (edits.get() != editsBefore) {
          return fresh.size();
        }
        cache.putAll(fresh);
        before.stream().filter(id -> !fresh.containsKey(id)).forEach(cache::remove);
      }
      return fresh.size();
    });
  }

  private static final String SELECT = "SELECT id, name, provider, secret, destination_url, hub_id, "
      + "created_at, updated_at FROM webhook_endpoints";

  private static Endpoint endpoint(ResultSet rs) throws SQLException {
    return new Endpoint(rs.getString(1), rs.getString(2),
        Provider.fromWireName(rs.getString(3)).orElse(Provider.GENERIC), rs.getString(4), rs.getString(5),
        rs.getString(6), Instant.ofEpochMilli(rs.getLong(7)), Instant.ofEpochMilli(rs.getLong(8)));
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
      edit(() -> cache.put(endpoint.id(), endpoint));
      return endpoint;
    }).thenApply(this::announced);
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
      edit(() -> cache.put(endpoint.id(), endpoint));
      return Optional.of(endpoint);
    }).thenApply(updated -> {
      updated.ifPresent(this::announced);
      return updated;
    });
  }

  /** True when it existed. Webhooks still queued for it stay in the journal, never delivered. */
  public CompletionStage<Boolean> delete(String id) {
    return database.withConnection("delete endpoint", c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM webhook_endpoints WHERE id = ?")) {
        s.setString(1, id);
        boolean existed = s.executeUpdate() > 0;
        edit(() -> cache.remove(id));
        return existed;
      }
    }).thenApply(existed -> {
      changed.accept(id);
      return existed;
    });
  }

  /** A change to one entry, counted (and kept apart from a full re-read being applied). */
  private void edit(Runnable change) {
    synchronized (edits) {
      edits.incrementAndGet();
      change.run();
    }
  }

  private Endpoint announced(Endpoint endpoint) {
    changed.accept(endpoint.id());
    return endpoint;
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
