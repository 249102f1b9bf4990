package dev.conduit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A fresh PostgreSQL database for one benchmark run (conduit_bench_&lt;time&gt;), dropped on close, and
 * the CPU time of the PostgreSQL server's processes (postmaster and every backend, from /proc).
 */
final class PostgresBenchDatabase implements AutoCloseable {
  private final String name;

  private PostgresBenchDatabase(String name) {
    this.name = name;
  }

  static PostgresBenchDatabase create() throws SQLException {
    String name = "conduit_bench_" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss_SSS"));
    try (Connection c = admin(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return new PostgresBenchDatabase(name);
  }

  String name() {
    return name;
  }

  String jdbcUrl() {
    return "jdbc:postgresql://" + BenchConfig.PG_HOST + ":" + BenchConfig.PG_PORT + "/" + name;
  }

  /** CONDUIT_DB_URL, _USER and _PASSWORD for a Conduit process on this database. */
  java.util.Map<String, String> conduitEnv() {
    return java.util.Map.of("CONDUIT_DB_URL", jdbcUrl(), "CONDUIT_DB_USER", BenchConfig.PG_USER,
        "CONDUIT_DB_PASSWORD", BenchConfig.PG_PASSWORD);
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl(), BenchConfig.PG_USER, BenchConfig.PG_PASSWORD);
  }

  /** Drops the database, ending whatever sessions are still connected to it. */
  @Override
  public void close() throws SQLException {
    try (Connection c = admin(); Statement s = c.createStatement()) {
      s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'");
      s.execute("DROP DATABASE IF EXISTS " + name);
    }
  }

  private static Connection admin() throws SQLException {
    String url = "jdbc:postgresql://" + BenchConfig.PG_HOST + ":" + BenchConfig.PG_PORT + "/postgres";
    return DriverManager.getConnection(url, BenchConfig.PG_USER, BenchConfig.PG_PASSWORD);
  }

  /**
   * CPU (user + system) used so far by the processes named "postgres" on this machine: the server and
   * its backends, for all databases (other users of the cluster count too). Backends that exit between
   * two readings take their CPU with them, so compare readings taken while the same connections live.
   * Zero when PostgreSQL is not local or /proc is not readable.
   */
  static Duration serverCpuTime() {
    long ticks = 0;
    try (var dirs = Files.list(Path.of("/proc"))) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        String pid = dir.getFileName().toString();
        if (!pid.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String stat = Files.readString(dir.resolve("stat"));
          int open = stat.indexOf('(');
          int close = stat.lastIndexOf(')');
          if (!stat.substring(open + 1, close).equals("postgres")) {
            continue;
          }
          String[] fields = stat.substring(close + 2).split(" ");
          // After "pid (comm) ": state is field 0, utime field 11, stime field 12 (proc(5) fields 14 and 15).
          ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException gone) {
          // the process ended while listing
        }
      }
    } catch (IOException e) {
      return Duration.ZERO;
    }
    return Duration.ofMillis(ticks * 1000 / CLOCK_TICKS);
  }

  /** USER_HZ; 100 on every Linux this runs on. */
  private static final long CLOCK_TICKS = 100;
}
