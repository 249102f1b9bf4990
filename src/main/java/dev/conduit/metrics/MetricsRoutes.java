package dev.conduit.metrics;

import dev.conduit.server.AdminAuth;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /metrics}: the registry in the format the scraper's {@code Accept} header asks for
 * (Prometheus text 0.0.4 by default, OpenMetrics text, or Prometheus protobuf), written by the client
 * library's own writers. Open by default, as Prometheus scrapes are; with {@code conduit.metrics.bearer-token}
 * set, the scrape needs {@code Authorization: Bearer <token>} (401 otherwise, as the admin API answers).
 */
public final class MetricsRoutes extends AllDirectives {
  private final PrometheusRegistry registry;
  private final AdminAuth auth;
  private final ExpositionFormats formats = ExpositionFormats.init();

  /** @param auth the scrape's bearer check, or empty when scrapes are open */
  public MetricsRoutes(PrometheusRegistry registry, Optional<AdminAuth> auth) {
    this.registry = registry;
    this.auth = auth.orElse(null);
  }

  public Route routes() {
    return path("metrics", () -> get(() -> guarded(() -> optionalHeaderValueByName("Accept", accept ->
        complete(scrape(formats.findWriter(accept.orElse(null))))))));
  }

  private Route guarded(Supplier<Route> inner) {
    return auth == null ? inner.get() : auth.authorized(inner);
  }

  private HttpResponse scrape(ExpositionFormatWriter writer) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory", e);
    }
    ContentType type = ContentTypes.parse(writer.getContentType());
    return HttpResponse.create().withEntity(HttpEntities.create(type, out.toByteArray()));
  }
}
