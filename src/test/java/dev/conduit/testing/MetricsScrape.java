package dev.conduit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_35_0.Metrics.LabelPair;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_35_0.Metrics.Metric;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_35_0.Metrics.MetricFamily;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GET /metrics as Prometheus scrapes it (protobuf exposition), parsed with the client library's own
 * protobuf classes: families by name (counters with their {@code _total} suffix).
 */
public final class MetricsScrape {
  public static final String PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      + "encoding=delimited";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final Map<String, MetricFamily> families;

  private MetricsScrape(Map<String, MetricFamily> families) {
    this.families = families;
  }

  /** Scrapes httpBase's /metrics; token: the scrape's bearer token, or null when scrapes are open. */
  public static MetricsScrape of(URI httpBase, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(httpBase.resolve("/metrics")).timeout(TIMEOUT)
        .header("Accept", PROTOBUF);
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/vnd.google.protobuf"),
        response.headers().toString());
    Map<String, MetricFamily> families = new HashMap<>();
    ByteArrayInputStream in = new ByteArrayInputStream(response.body());
    MetricFamily family;
    while ((family = MetricFamily.parseDelimitedFrom(in)) != null) {
      families.put(family.getName(), family);
    }
    return new MetricsScrape(families);
  }

  public Map<String, MetricFamily> families() {
    return families;
  }

  /** The family, failing the test when the scrape does not have it. */
  public MetricFamily family(String name) {
    MetricFamily family = families.get(name);
    if (family == null) {
      throw new AssertionError("no metric " + name + " in " + families.keySet());
    }
    return family;
  }

  /** Every series of a family; none when the scrape does not have the family (a labelled one with no series yet). */
  public List<Metric> series(String name) {
    MetricFamily family = families.get(name);
    return family == null ? List.of() : family.getMetricList();
  }

  /**
   * A counter's or gauge's value for exactly these labels (name, value, ...); 0 when there is no such series
   * (a labelled counter has none before its first increment, and the exposition then leaves its family out).
   */
  public double value(String name, String... labels) {
    return find(name, labels).map(m -> m.hasCounter() ? m.getCounter().getValue() : m.getGauge().getValue())
        .orElse(0.0);
  }

  /** A histogram's observation count (no labels; the family must be there). */
  public long histogramCount(String name) {
    family(name);
    return find(name).map(m -> m.getHistogram().getSampleCount()).orElse(0L);
  }

  /** A histogram's sum of observations (no labels). */
  public double histogramSum(String name) {
    family(name);
    return find(name).map(m -> m.getHistogram().getSampleSum()).orElse(0.0);
  }

  /** The relay's own series (conduit_*), compact, for failure messages. */
  @Override
  public String toString() {
    StringBuilder out = new StringBuilder();
    families.values().stream().filter(f -> f.getName().startsWith("conduit_")).sorted(
        java.util.Comparator.comparing(MetricFamily::getName)).forEach(f -> f.getMetricList().forEach(m -> {
          out.append(f.getName());
          m.getLabelList().forEach(l -> out.append(' ').append(l.getName()).append('=').append(l.getValue()));
          out.append(' ').append(m.hasCounter() ? m.getCounter().getValue() : m.hasGauge() ? m.getGauge().getValue()
              : m.getHistogram().getSampleCount()).append('\n');
        }));
    return out.toString();
  }

  private java.util.Optional<Metric> find(String name, String... labels) {
    Map<String, String> wanted = new HashMap<>();
    for (int i = 0; i < labels.length; i += 2) {
      wanted.put(labels[i], labels[i + 1]);
    }
    return series(name).stream().filter(m -> {
      Map<String, String> actual = new HashMap<>();
      for (LabelPair pair : m.getLabelList()) {
        actual.put(pair.getName(), pair.getValue());
      }
      return actual.equals(wanted);
    }).findFirst();
  }
}
