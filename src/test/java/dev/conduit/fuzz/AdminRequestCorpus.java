package dev.conduit.fuzz;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Malformed operator requests: bad admin tokens, endpoint bodies with each field missing, mistyped,
 * out of range or too long (each with its documented 400 code), malformed JSON and random mutations
 * of a valid body, unknown ids, bad query parameters.
 */
final class AdminRequestCorpus {
  private static final List<String> FIELDS = List.of("name", "provider", "secret", "destination_url", "hub_id");

  private final SplittableRandom random;
  private final String token;
  private final String hub;
  private final String victim;
  private final List<HttpCase> cases = new ArrayList<>();

  private AdminRequestCorpus(SplittableRandom random, String token, String hub, String victim) {
    this.random = random;
    this.token = token;
    this.hub = hub;
    this.victim = victim;
  }

  /** victim: an endpoint the corpus may try to update (only with bodies that must be refused). */
  static List<HttpCase> generate(SplittableRandom random, int count, String token, String hub, String victim) {
    AdminRequestCorpus corpus = new AdminRequestCorpus(random, token, hub, victim);
    corpus.badTokens();
    corpus.fieldErrors();
    corpus.malformedBodies(count / 2);
    corpus.mutants(count / 2);
    corpus.unknownIdsAndParameters();
    return corpus.cases;
  }

  private void badTokens() {
    List<String> values = List.of("Bearer wrong", "Bearer " + token + "x", "Bearer " + token.substring(1),
        "Basic " + Base64.getEncoder().encodeToString(("admin:" + token).getBytes()), "Bearer", "Bearer ",
        token, "Token " + token, "Bearer " + "t".repeat(6000), "Bearer " + Mutations.randomAscii(random, 40),
        "Bearer\t" + token + "!");
    for (String value : values) {
      for (String[] route : new String[][] {{"GET", "/api/endpoints"}, {"POST", "/api/endpoints"},
          {"GET", "/api/webhooks"}, {"DELETE", "/api/endpoints/" + victim}}) {
        Map<String, String> headers = Map.of("Authorization", value, "Content-Type", "application/json");
        cases.add(HttpCase.error("bad admin token", route[0], route[1], headers,
            route[0].equals("POST") ? Mutations.utf8(validBody()) : null, 401, "unauthorized"));
      }
    }
    cases.add(HttpCase.error("no admin token", "GET", "/api/endpoints", Map.of(), null, 401, "unauthorized"));
    // A header past the HTTP layer's limit never reaches the check.
    cases.add(new HttpCase("admin token header too long", "GET", "/api/endpoints",
        Map.of("Authorization", "Bearer " + "t".repeat(20_000)), null, false, Set.of(400, 431), null, false));
  }

  private void fieldErrors() {
    for (String field : FIELDS) {
      for (String value : Mutations.NON_STRINGS) {
        if (value.equals("null")) {
          continue;
        }
        create("field of wrong JSON type", with(field, value), "invalid_field");
        update("field of wrong JSON type", with(field, value), "invalid_field");
      }
      if (!field.equals("secret")) {
        create("missing field", without(field), "missing_field");
        create("null field", with(field, "null"), "missing_field");
        create("blank field", with(field, "\"  \""), "missing_field");
      }
    }
    for (String provider : List.of("GitHub", "stripe ", "paypal", "", "\u00fcber", Mutations.randomToken(random, 12))) {
      if (!provider.isBlank()) {
        create("unknown provider", with("provider", TunnelFrameCorpus.quote(provider)), "unknown_provider");
        update("unknown provider", with("provider", TunnelFrameCorpus.quote(provider)), "unknown_provider");
      }
    }
    for (String hubId : List.of("nope", hub + " ", hub.toUpperCase(), "h".repeat(5000))) {
      create("unknown hub", with("hub_id", TunnelFrameCorpus.quote(hubId)), "unknown_hub");
      update("unknown hub", with("hub_id", TunnelFrameCorpus.quote(hubId)), "unknown_hub");
    }
    for (String url : List.of("ftp://x.example/h", "not a url", "http://", "http:///path", "://x", "javascript:alert(1)",
        "/relative/path", "http//missing-colon", "http://exa mple.com/", "file:///etc/passwd", "mailto:a@b.c",
        "http://[::1", "x".repeat(3000))) {
      create("bad destination_url", with("destination_url", TunnelFrameCorpus.quote(url)), "invalid_field");
      update("bad destination_url", with("destination_url", TunnelFrameCorpus.quote(url)), "invalid_field");
    }
    // Longer than the columns they are stored in: a client error, not a database failure.
    create("name too long", with("name", TunnelFrameCorpus.quote("n".repeat(257 + random.nextInt(5000)))),
        "invalid_field");
    create("secret too long", with("secret", TunnelFrameCorpus.quote("s".repeat(1025 + random.nextInt(5000)))),
        "invalid_field");
    create("destination_url too long", with("destination_url",
        TunnelFrameCorpus.quote("http://x.example/" + "p".repeat(2100 + random.nextInt(3000)))), "invalid_field");
    update("name too long", with("name", TunnelFrameCorpus.quote("n".repeat(300))), "invalid_field");
  }

  private void malformedBodies(int count) {
    List<String> fixed = List.of("", " ", "{", "[]", "[" + validBody() + "]", "\"text\"", "42", "null", "true",
        "{'name':'x'}", "{\"name\":}", "NaN", "[".repeat(3000) + "]".repeat(3000));
    for (String body : fixed) {
      create("malformed JSON", body, "malformed_json");
    }
    String valid = validBody();
    for (int i = 0; i < count; i++) {
      String body = i % 3 == 0
          ? new String(Mutations.randomBytes(random, 1 + random.nextInt(200)), java.nio.charset.StandardCharsets.UTF_8)
          : valid.substring(0, 1 + random.nextInt(valid.length() - 1)); // a truncated object
      // Random bytes that open an object could still parse as one ("{}" then junk): left out.
      if (i % 3 != 0 || !body.strip().startsWith("{")) {
        create(i % 3 == 0 ? "random bytes" : "truncated JSON", body, "malformed_json");
      }
    }
  }

  /** Random mutations of a valid body: created (201) or refused with a 400 code, nothing else. */
  private void mutants(int count) {
    byte[] valid = Mutations.utf8(validBody());
    for (int i = 0; i < count; i++) {
      byte[] body = Mutations.mutate(random, Mutations.mutate(random, valid));
      cases.add(new HttpCase("mutated body", "POST", "/api/endpoints", admin(), body, false, Set.of(201, 400), "*",
          false));
    }
  }

  private void unknownIdsAndParameters() {
    for (int i = 0; i < 6; i++) {
      String id = Mutations.randomToken(random, 1 + random.nextInt(40));
      cases.add(HttpCase.error("unknown endpoint", "GET", "/api/endpoints/" + id, admin(), null, 404, "not_found"));
      cases.add(HttpCase.error("unknown endpoint", "DELETE", "/api/endpoints/" + id, admin(), null, 404, "not_found"));
      cases.add(HttpCase.error("unknown endpoint", "PUT", "/api/endpoints/" + id, admin(), Mutations.utf8(validBody()),
          404, "not_found"));
      cases.add(HttpCase.error("unknown webhook", "GET", "/api/webhooks/" + id, admin(), null, 404, "not_found"));
      cases.add(HttpCase.error("unknown webhook", "POST", "/api/webhooks/" + id + "/replay", admin(), null, 404,
          "not_found"));
    }
    for (String query : List.of("status=bogus", "status=", "limit=0", "limit=1001", "limit=-1", "limit=abc",
        "limit=99999999999", "before=abc", "before=1.5", "limit=1e3")) {
      cases.add(HttpCase.error("bad query", "GET", "/api/webhooks?" + query, admin(), null, 400, "invalid_parameter"));
    }
  }

  // ------------------------------------------------------------ helpers

  private void create(String label, String body, String code) {
    cases.add(HttpCase.error(label, "POST", "/api/endpoints", admin(), Mutations.utf8(body), 400, code));
  }

  /** Refused updates of the victim endpoint, by PUT or PATCH. */
  private void update(String label, String body, String code) {
    cases.add(HttpCase.error(label, random.nextBoolean() ? "PUT" : "PATCH", "/api/endpoints/" + victim, admin(),
        Mutations.utf8(body), 400, code));
  }

  private Map<String, String> admin() {
    return Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json");
  }

  private Map<String, String> validFields() {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("name", TunnelFrameCorpus.quote("fuzz-" + Mutations.randomToken(random, 6)));
    fields.put("provider", "\"github\"");
    fields.put("secret", "\"s3cret\"");
    fields.put("destination_url", "\"http://127.0.0.1:9/hook\"");
    fields.put("hub_id", TunnelFrameCorpus.quote(hub));
    return fields;
  }

  private String validBody() {
    return render(validFields());
  }

  private String with(String field, String value) {
    Map<String, String> fields = validFields();
    fields.put(field, value);
    return render(fields);
  }

  private String without(String field) {
    Map<String, String> fields = validFields();
    fields.remove(field);
    return render(fields);
  }

  private static String render(Map<String, String> fields) {
    StringBuilder s = new StringBuilder("{");
    fields.forEach((k, v) -> s.append(s.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
    return s.append('}').toString();
  }
}
