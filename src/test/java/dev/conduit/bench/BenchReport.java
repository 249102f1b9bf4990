package dev.conduit.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conduit.server.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one benchmark run: each measured beside its baseline from the same run, with the ratio
 * and the target it is judged by. Printed as a table and written as JSON under bench-results/.
 */
final class BenchReport {
  /** One figure. higherIsBetter decides how the target reads; target may be null. */
  record Row(String metric, String unit, double conduit, Double baseline, String ratioName, Double ratio,
             String target, Boolean met) {}

  private final String name;
  private final List<Row> rows = new ArrayList<>();
  private final Map<String, Object> facts = new LinkedHashMap<>();
  private final Instant started = Instant.now();

  BenchReport(String name) {
    this.name = name;
  }

  /** A figure against a baseline, reported as conduit / baseline. */
  void ratio(String metric, String unit, double conduit, double baseline, Double minRatio) {
    double ratio = conduit / baseline;
    rows.add(new Row(metric, unit, conduit, baseline, "conduit/baseline", ratio,
        minRatio == null ? null : "ratio >= " + minRatio, minRatio == null ? null : ratio >= minRatio));
  }

  /** A figure against a baseline, reported as the difference conduit - baseline (e.g. added latency). */
  void added(String metric, String unit, double conduit, double baseline, Double maxAdded) {
    double added = conduit - baseline;
    rows.add(new Row(metric, unit, conduit, baseline, "added", added,
        maxAdded == null ? null : "added <= " + maxAdded, maxAdded == null ? null : added <= maxAdded));
  }

  /** A figure judged on its own (with the baseline given for context when there is one). */
  void absolute(String metric, String unit, double conduit, Double baseline, Double max) {
    rows.add(new Row(metric, unit, conduit, baseline, null, null, max == null ? null : "<= " + max,
        max == null ? null : conduit <= max));
  }

  /** Context: settings, load generator CPU, sample counts. */
  void fact(String key, Object value) {
    facts.put(key, value);
  }

  void print() {
    System.out.println();
    System.out.println("== " + name + " ==");
    String format = "%-46s %14s %14s %-18s %10s  %-16s %s%n";
    System.out.printf(format, "metric", "conduit", "baseline", "compare", "value", "target", "met");
    for (Row row : rows) {
      System.out.printf(Locale.ROOT, format, row.metric() + " [" + row.unit() + "]", fmt(row.conduit()),
          row.baseline() == null ? "-" : fmt(row.baseline()), row.ratioName() == null ? "-" : row.ratioName(),
          row.ratio() == null ? "-" : fmt(row.ratio()), row.target() == null ? "-" : row.target(),
          row.met() == null ? "-" : row.met() ? "yes" : "NO");
    }
    facts.forEach((key, value) -> System.out.printf("  %s: %s%n", key, value));
  }

  Path write() throws IOException {
    ObjectNode json = Json.MAPPER.createObjectNode();
    json.put("benchmark", name);
    json.put("started", started.toString());
    json.put("finished", Instant.now().toString());
    json.set("machine", Json.MAPPER.valueToTree(Machine.describe()));
    ArrayNode figures = json.putArray("figures");
    rows.forEach(row -> figures.add(Json.MAPPER.valueToTree(row)));
    json.set("facts", Json.MAPPER.valueToTree(facts));
    Files.createDirectories(BenchConfig.RESULTS);
    String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(started);
    Path file = BenchConfig.RESULTS.resolve(name + "-" + stamp + ".json");
    Files.writeString(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    Files.copy(file, BenchConfig.RESULTS.resolve(name + "-latest.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    System.out.println("  written to " + file);
    return file;
  }

  private static String fmt(double value) {
    if (value != 0 && Math.abs(value) < 10) {
      return String.format(Locale.ROOT, "%.3f", value);
    }
    return String.format(Locale.ROOT, "%,.0f", value);
  }
}
