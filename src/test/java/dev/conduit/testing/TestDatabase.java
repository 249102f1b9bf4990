package dev.conduit.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A fresh, empty journal database for one test: an H2 file under a temp directory, or a new
 * database on the PostgreSQL server (CONDUIT_TEST_PG_URL, default the local one). An unreachable
 * PostgreSQL fails the test: it is never skipped.
 */
public final class TestDatabase implements AutoCloseable {

  public enum Kind { H2, POSTGRES }

  public static final String DEFAULT_PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";

  private final Kind kind;
  private final Path dataDir;
  private final String pgDatabase;
  private final Config config;

  private TestDatabase(Kind kind, Path dataDir, String pgDatabase, Config config) {
    this.kind = kind;
    this.dataDir = dataDir;
    this.pgDatabase = pgDatabase;
    this.config = config;
  }

  public static TestDatabase create(Kind kind) throws Exception {
    Path dataDir = Files.createTempDirectory("conduit-test-");
    if (kind == Kind.H2) {
      return new TestDatabase(kind, dataDir, null, ConfigFactory.parseMap(Map.of(
          "conduit.data-dir", dataDir.toString(), "conduit.db.url", "")));
    }
    String name = "conduit_test_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection admin = DriverManager.getConnection(pgUrl(), pgUser(), pgPassword());
         Statement statement = admin.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new AssertionError("PostgreSQL is not reachable at " + pgUrl() + " (" + e.getMessage() + "). "
          + "Start the local cluster (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
          + "or point CONDUIT_TEST_PG_URL at a server.", e);
    }
    String url = pgUrl().replaceFirst("/[^/?]*(\\?|$)", "/" + name + "$1");
    return new TestDatabase(kind, dataDir, name, ConfigFactory.parseMap(Map.of(
        "conduit.data-dir", dataDir.toString(), "conduit.db.url", url,
        "conduit.db.user", pgUser(), "conduit.db.password", pgPassword())));
  }

  /** Overrides that point Conduit at this database. */
  public Config config() {
    return config;
  }

  public Kind kind() {
    return kind;
  }

  public Path dataDir() {
    return dataDir;
  }

  /**
   * PostgreSQL only: takes the database away from Conduit (no new connections, existing ones
   * terminated) or gives it back. Simulates the database going down while the edge runs.
   */
  public void setPostgresAvailable(boolean available) throws SQLException {
    if (pgDatabase == null) {
      throw new IllegalStateException("only for PostgreSQL test databases");
    }
    try (Connection admin = DriverManager.getConnection(pgUrl(), pgUser(), pgPassword());
         Statement statement = admin.createStatement()) {
      statement.execute("ALTER DATABASE " + pgDatabase + " ALLOW_CONNECTIONS " + available);
      if (!available) {
        statement.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
            + pgDatabase + "' AND pid <> pg_backend_pid()");
      }
    }
  }

  @Override
  public void close() throws Exception {
    if (pgDatabase != null) {
      try (Connection admin = DriverManager.getConnection(pgUrl(), pgUser(), pgPassword());
           Statement statement = admin.createStatement()) {
        statement.execute("ALTER DATABASE " + pgDatabase + " ALLOW_CONNECTIONS true");
        statement.execute("DROP DATABASE IF EXISTS " + pgDatabase + " WITH (FORCE)");
      }
    }
    deleteRecursively(dataDir);
  }

  static String pgUrl() {
    return env("CONDUIT_TEST_PG_URL", DEFAULT_PG_URL);
  }

  static String pgUser() {
    return env("CONDUIT_TEST_PG_USER", "postgres");
  }

  static String pgPassword() {
    return env("CONDUIT_TEST_PG_PASSWORD", "");
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
