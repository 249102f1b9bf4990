package dev.conduit.ui;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import dev.conduit.server.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The operators' dashboard at {@code /ui/}: three static files from the jar ({@code conduit-ui/} on the class
 * path: index.html, app.js, style.css), no build step. The page itself is public; every figure on it
 * comes from the admin JSON API, which the script calls with {@code Authorization: Bearer <token>} (the
 * token typed into its login form, kept in the tab's sessionStorage, never in a URL). Every answer
 * carries a strict Content-Security-Policy: scripts, styles and requests only from this origin, no
 * inline script or style, no framing, no form posting elsewhere.
 */
public final class UiRoutes extends AllDirectives {
  /** The policy on every dashboard answer; `connect-src 'self'` is what lets the script call /api. */
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  private static final Map<String, ContentType> FILES = Map.of(
      "index.html", MediaTypes.TEXT_HTML.toContentType(HttpCharsets.UTF_8),
      "app.js", MediaTypes.APPLICATION_JAVASCRIPT.toContentType(HttpCharsets.UTF_8),
      "style.css", MediaTypes.TEXT_CSS.toContentType(HttpCharsets.UTF_8));

  private static final List<HttpHeader> HEADERS = List.of(
      HttpHeader.parse("Content-Security-Policy", CONTENT_SECURITY_POLICY),
      HttpHeader.parse("X-Content-Type-Options", "nosniff"),
      HttpHeader.parse("Referrer-Policy", "no-referrer"),
      HttpHeader.parse("X-Frame-Options", "DENY"),
      // Assets change with the jar; revalidating three small files is cheaper than a stale dashboard.
      HttpHeader.parse("Cache-Control", "no-cache"));

  private final Map<String, HttpResponse> responses;

  /** Reads the assets once; a jar without them is a build error, reported at start-up. */
  public UiRoutes() {
    this.responses = FILES.entrySet().stream().collect(Collectors.toUnmodifiableMap(
        Map.Entry::getKey, e -> HttpResponse.create().withStatus(StatusCodes.OK).addHeaders(HEADERS)
            .withEntity(HttpEntities.create(e.getValue(), read("conduit-ui/" + e.getKey())))));
  }

  public Route routes() {
    return pathPrefix("ui", () -> get(() -> concat(
        pathEnd(() -> redirect(Uri.create("/ui/"), StatusCodes.PERMANENT_REDIRECT)),
        pathSingleSlash(() -> complete(responses.get("index.html"))),
        path(segment(), name -> {
          HttpResponse response = responses.get(name);
          return response == null
              ? complete(Json.error(StatusCodes.NOT_FOUND, "not_found", "The dashboard has no file of that name")
                  .addHeaders(HEADERS))
              : complete(response);
        }))));
  }

  private static byte[] read(String resource) {
    try (InputStream in = UiRoutes.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("dashboard asset missing from the class path: " + resource);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read dashboard asset " + resource, e);
    }
  }
}
