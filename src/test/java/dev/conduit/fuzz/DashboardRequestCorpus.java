package dev.conduit.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Malformed requests to the dashboard's routes: its static files under {@code /ui/} (unknown, encoded,
 * over-long and traversal-looking names; other methods) and the admin reads and actions only the dashboard
 * uses ({@code /api/webhooks/{id}/payload}, {@code /api/instances/{id}}, {@code /api/hubs},
 * {@code /api/status}), each without, with a wrong and with the right token. Every answer is its precise
 * 4xx in the API's JSON error shape (or the page itself), never a 5xx.
 */
record DashboardRequestCorpus(SplittableRandom random, String token, String webhookId, List<HttpCase> cases) {
  private static final List<String> ASSETS = List.of("index.html", "app.js", "style.css");

  /** webhookId: a stored webhook, whose payload the corpus asks for with bad tokens and bad methods. */
  static List<HttpCase> generate(SplittableRandom random, int count, String token, String webhookId) {
    DashboardRequestCorpus corpus = new DashboardRequestCorpus(random, token, webhookId, new ArrayList<>());
    corpus.pages(count / 4);
    corpus.payloads(count / 4);
    corpus.instances(count / 4);
    corpus.otherReads();
    return corpus.cases;
  }

  private void pages(int randomNames) {
    cases.add(new HttpCase("dashboard root without slash", "GET", "/ui", Map.of(), null, false, Set.of(308), null, false));
    cases.add(new HttpCase("dashboard page", "GET", "/ui/?x=%3Cscript%3E", Map.of(), null, false, Set.of(200), null, false));
    for (String asset : ASSETS) {
      cases.add(new HttpCase("dashboard file", "GET", "/ui/" + asset, Map.of(), null, false, Set.of(200), null, false));
      for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
        cases.add(HttpCase.error("dashboard file, wrong method", method, "/ui/" + asset, Map.of(), new byte[0], 405,
            "method_not_allowed"));
      }
      cases.add(HttpCase.error("dashboard file with a tail", "GET", "/ui/" + asset + "/x", Map.of(), null, 404,
          "not_found"));
    }
    List<String> names = new ArrayList<>(List.of("APP.JS", "index.html.bak", "app.js%00", "app.js;x", "%2e%2e",
        "..%2Fapplication.conf", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "conduit-ui", "%C3%A9", "~", "%FF%FE", "index.htm",
        ".env", "app.js%2F", "favicon.ico"));
    for (int i = 0; i < randomNames; i++) {
      names.add(Mutations.randomToken(random, 1 + random.nextInt(60)));
    }
    for (String name : names) {
      cases.add(HttpCase.error("unknown dashboard file", "GET", "/ui/" + name, Map.of(), null, 404, "not_found"));
    }
    cases.add(HttpCase.error("unknown dashboard path", "GET", "/ui/a/b/c", Map.of(), null, 404, "not_found"));
    // Past the HTTP layer's URI limit the parser answers 414 uri_too_long; under it the route answers 404.
    cases.add(new HttpCase("over-long dashboard file name", "GET", "/ui/" + "a".repeat(3000 + random.nextInt(3000)),
        Map.of(), null, false, Set.of(404, 414), "*", false));
    cases.add(HttpCase.error("dashboard root, wrong method", "POST", "/ui/", Map.of(), new byte[0], 405,
        "method_not_allowed"));
  }

  private void payloads(int randomIds) {
    String payload = "/api/webhooks/" + webhookId + "/payload";
    for (String auth : badTokens()) {
      cases.add(HttpCase.error("payload, bad token", "GET", payload, headers(auth), null, 401, "unauthorized"));
    }
    cases.add(HttpCase.error("payload, no token", "GET", payload, Map.of(), null, 401, "unauthorized"));
    cases.add(new HttpCase("payload", "GET", payload, admin(), null, false, Set.of(200), null, false));
    for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
      cases.add(HttpCase.error("payload, wrong method", method, payload, admin(), new byte[0], 405,
          "method_not_allowed"));
    }
    cases.add(HttpCase.error("payload with a tail", "GET", payload + "/x", admin(), null, 404, "not_found"));
    // Replay is POST only: a GET is 405 (it was 404 while the tunnel status routes wrapped their paths in one get()).
    cases.add(HttpCase.error("replay by GET", "GET", "/api/webhooks/" + webhookId + "/replay", admin(), null, 405,
        "method_not_allowed"));
    for (int i = 0; i < randomIds; i++) {
      String id = Mutations.randomToken(random, 1 + random.nextInt(80));
      cases.add(HttpCase.error("payload of an unknown webhook", "GET", "/api/webhooks/" + id + "/payload", admin(),
          null, 404, "not_found"));
    }
    for (String id : List.of("%00", "%0D%0A", "%C3%A9", "%FF", "00000000-0000-0000-0000-000000000000", "'%20OR%201=1")) {
      cases.add(HttpCase.error("payload of an odd id", "GET", "/api/webhooks/" + id + "/payload", admin(), null, 404,
          "not_found"));
    }
  }

  private void instances(int randomIds) {
    for (String auth : badTokens()) {
      cases.add(HttpCase.error("instance, bad token", "GET", "/api/instances/x", headers(auth), null, 401, "unauthorized"));
    }
    for (int i = 0; i < randomIds; i++) {
      cases.add(HttpCase.error("unknown instance", "GET", "/api/instances/" + Mutations.randomToken(random,
          1 + random.nextInt(100)), admin(), null, 404, "not_found"));
    }
    for (String id : List.of("%00", "a%0Ab", "%7F", "i".repeat(300))) {
      cases.add(HttpCase.error("invalid instance id", "GET", "/api/instances/" + id, admin(), null, 400, "invalid_field"));
    }
    cases.add(HttpCase.error("instance, wrong method", "DELETE", "/api/instances/x", admin(), null, 405,
        "method_not_allowed"));
    cases.add(HttpCase.error("instances without an id", "GET", "/api/instances", admin(), null, 404, "not_found"));
  }

  private void otherReads() {
    for (String auth : badTokens()) {
      cases.add(HttpCase.error("hubs, bad token", "GET", "/api/hubs", headers(auth), null, 401, "unauthorized"));
    }
    cases.add(HttpCase.error("hubs, wrong method", "POST", "/api/hubs", admin(), new byte[0], 405, "method_not_allowed"));
    cases.add(HttpCase.error("status, wrong method", "DELETE", "/api/status", admin(), null, 405, "method_not_allowed"));
    cases.add(HttpCase.error("unknown admin path", "GET", "/api/" + Mutations.randomToken(random, 12), admin(), null, 404,
        "not_found"));
    for (String query : List.of("endpoint=" + Mutations.randomToken(random, 20), "endpoint=", "endpoint=%00")) {
      cases.add(new HttpCase("webhooks of an unknown endpoint", "GET", "/api/webhooks?" + query, admin(), null, false,
          Set.of(200), null, false));
    }
  }

  private List<String> badTokens() {
    return List.of("Bearer wrong", "Bearer " + token + "x", "Bearer", "Basic " + token,
        "Bearer " + Mutations.randomAscii(random, 30));
  }

  private Map<String, String> admin() {
    return headers("Bearer " + token);
  }

  private static Map<String, String> headers(String authorization) {
    return Map.of("Authorization", authorization);
  }
}
