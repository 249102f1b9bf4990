package dev.conduit.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The dashboard's assets as a real relay serves them: content types, the security headers, nothing else served. */
class UiRoutesTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();

  @Test
  void assetsHaveTheirContentTypesAndAStrictPolicy() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.webhook.admin-token", "ui-routes-token")))) {
      URI base = server.httpBase();
      HttpResponse<String> redirect = get(base.resolve("/ui"));
      assertEquals(308, redirect.statusCode());
      assertEquals("/ui/", redirect.headers().firstValue("Location").orElse(""));

      HttpResponse<String> index = get(base.resolve("/ui/"));
      assertEquals(200, index.statusCode());
      assertEquals("text/html; charset=UTF-8", index.headers().firstValue("Content-Type").orElse(""));
      // No inline script or style anywhere (the policy would block it), only the files the policy allows.
      assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)", Pattern.CASE_INSENSITIVE).matcher(index.body()).find());
      assertFalse(Pattern.compile("<style|\\sstyle=|\\son[a-z]+=", Pattern.CASE_INSENSITIVE).matcher(index.body()).find());
      assertTrue(index.body().contains("<script src=\"app.js\" defer></script>"));
      assertSecurityHeaders(index);

      HttpResponse<String> script = get(base.resolve("/ui/app.js"));
      assertEquals(200, script.statusCode());
      assertEquals("application/javascript; charset=UTF-8", script.headers().firstValue("Content-Type").orElse(""));
      assertSecurityHeaders(script);
      // The token lives in sessionStorage and goes out only in the Authorization header.
      assertTrue(script.body().contains("sessionStorage"));
      assertFalse(script.body().contains("localStorage"));

      HttpResponse<String> style = get(base.resolve("/ui/style.css"));
      assertEquals(200, style.statusCode());
      assertEquals("text/css; charset=UTF-8", style.headers().firstValue("Content-Type").orElse(""));

      for (String path : new String[] {"/ui/nothing.js", "/ui/..%2Fapplication.conf", "/ui/logback.xml"}) {
        HttpResponse<String> missing = get(base.resolve(path));
        assertEquals(404, missing.statusCode(), path);
      }
    }
  }

  private static void assertSecurityHeaders(HttpResponse<String> response) {
    assertEquals(UiRoutes.CONTENT_SECURITY_POLICY,
        response.headers().firstValue("Content-Security-Policy").orElse(""));
    assertTrue(UiRoutes.CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assertFalse(UiRoutes.CONTENT_SECURITY_POLICY.contains("unsafe"));
    assertEquals("nosniff", response.headers().firstValue("X-Content-Type-Options").orElse(""));
    assertEquals("no-referrer", response.headers().firstValue("Referrer-Policy").orElse(""));
    assertEquals("DENY", response.headers().firstValue("X-Frame-Options").orElse(""));
  }

  private static HttpResponse<String> get(URI uri) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
