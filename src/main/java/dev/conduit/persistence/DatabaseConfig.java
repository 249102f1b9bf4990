package dev.conduit.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.Map;

/**
 * Turns {@code conduit.db} into the journal plugin's shared-database settings: an embedded H2 file
 * database under the data directory by default, PostgreSQL when a {@code jdbc:postgresql:} url is given.
 */
public record DatabaseConfig(Kind kind, String url, String user, String password, int maxConnections,
                             long connectionTimeoutMillis) {

  public enum Kind { H2, POSTGRES }

  private static final String SHARED_DB = "pekko-persistence-jdbc.shared-databases.conduit";

  public static DatabaseConfig from(Config config) {
    Config db = config.getConfig("conduit.db");
    String url = db.getString("url");
    if (url.isBlank()) {
      Path file = Path.of(config.getString("conduit.data-dir")).toAbsolutePath().resolve("conduit");
      // DATABASE_TO_UPPER=false: the plugin quotes lower-case table names.
      // WRITE_DELAY=0: a commit reaches the file before the edge answers 2xx, so kill -9 loses nothing.
      url = "jdbc:h2:file:" + file + ";DATABASE_TO_UPPER=false;WRITE_DELAY=0";
    }
    Kind kind;
    if (url.startsWith("jdbc:h2:")) {
      kind = Kind.H2;
      if (!url.toUpperCase(java.util.Locale.ROOT).contains("DB_CLOSE_ON_EXIT")) {
        // H2's own JVM shutdown hook would close the database while Pekko's coordinated shutdown still
        // serves and writes ("Database is already closed"). Without it, the database closes with the
        // journal's connection pool, which pekko-persistence-jdbc closes when the actor system has
        // terminated: after the last write.
        url += ";DB_CLOSE_ON_EXIT=FALSE";
      }
    } else if (url.startsWith("jdbc:postgresql:")) {
      kind = Kind.POSTGRES;
    } else {
      throw new IllegalArgumentException("conduit.db.url must be a jdbc:h2: or jdbc:postgresql: url");
    }
    String user = kind == Kind.H2 && db.getString("url").isBlank() ? "sa" : db.getString("user");
    return new DatabaseConfig(kind, url, user, db.getString("password"), db.getInt("max-connections"),
        db.getDuration("connection-timeout").toMillis());
  }

  /** The application config with the journal's shared database filled in from this one. */
  public Config applyTo(Config config) {
    Map<String, Object> slick = Map.of(
        SHARED_DB + ".profile", kind == Kind.H2 ? "slick.jdbc.H2Profile$" : "slick.jdbc.PostgresProfile$",
        SHARED_DB + ".db.url", url,
        SHARED_DB + ".db.user", user,
        SHARED_DB + ".db.password", password,
        SHARED_DB + ".db.driver", driverClass(),
        SHARED_DB + ".db.numThreads", maxConnections,
        SHARED_DB + ".db.maxConnections", maxConnections,
        SHARED_DB + ".db.minConnections", 1,
        SHARED_DB + ".db.connectionTimeout", connectionTimeoutMillis);
    return ConfigFactory.parseMap(slick).withFallback(config);
  }

  public String driverClass() {
    return kind == Kind.H2 ? "org.h2.Driver" : "org.postgresql.Driver";
  }

  /**
   * Loads application.conf (and environment overrides) with the database settings applied. overrides win
   * over system properties, application.conf and reference.conf, and are merged before anything is
   * resolved, so a setting derived from another by substitution (pekko.http.server.idle-timeout from
   * conduit.http.idle-timeout) follows an override of its source.
   */
  public static Config loadApplicationConfig(Config overrides) {
    return loadApplicationConfig(overrides, ConfigFactory.empty());
  }

  /**
   * As {@link #loadApplicationConfig(Config)}, with featureDefaults between the system properties and
   * application.conf (the relay's cluster.conf, which the other actor systems in this jar do not load).
   */
  public static Config loadApplicationConfig(Config overrides, Config featureDefaults) {
    Config base = overrides.withFallback(ConfigFactory.defaultOverrides())
        .withFallback(featureDefaults)
        .withFallback(ConfigFactory.defaultApplication())
        .withFallback(ConfigFactory.defaultReferenceUnresolved())
        .resolve();
    return from(base).applyTo(base);
  }
}
