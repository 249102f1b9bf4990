package dev.conduit.fuzz;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Malformed webhooks for {@code POST /h/{endpoint}}: unknown and odd endpoint ids, wrong methods,
 * bodies over max-body-bytes (sized and chunked), garbage signature headers for every provider (the
 * edge runs with reject-unverified, so each is a 401), and garbage content types and bodies for an
 * unsigned endpoint, which must be stored (the edge takes any body).
 */
final class IngestRequestCorpus {
  /** The endpoints the corpus aims at: plain (no secret) and one per signed provider. */
  record Targets(String plain, Map<String, String> signedByProvider) {}

  private final SplittableRandom random;
  private final Targets targets;
  private final int maxBody;
  private final List<HttpCase> cases = new ArrayList<>();

  private IngestRequestCorpus(SplittableRandom random, Targets targets, int maxBody) {
    this.random = random;
    this.targets = targets;
    this.maxBody = maxBody;
  }

  static List<HttpCase> generate(SplittableRandom random, int count, Targets targets, int maxBody) {
    IngestRequestCorpus corpus = new IngestRequestCorpus(random, targets, maxBody);
    corpus.unknownEndpoints(count / 4);
    corpus.wrongMethods();
    corpus.oversized();
    corpus.badSignatures(count / 2);
    corpus.oddContent(count / 4);
    return corpus.cases;
  }

  private void unknownEndpoints(int count) {
    for (int i = 0; i < count; i++) {
      String id = switch (i % 4) {
        case 0 -> Mutations.randomToken(random, 1 + random.nextInt(64));
        case 1 -> encode(randomUnicode(1 + random.nextInt(20)));
        case 2 -> encode(Mutations.randomAscii(random, 1 + random.nextInt(40)));
        default -> Mutations.randomToken(random, 200 + random.nextInt(1200));
      };
      add(HttpCase.error("unknown endpoint", "POST", "/h/" + id, json(), body(), 404, "not_found"));
    }
    // A known id one character off.
    String plain = targets.plain();
    String off = plain.substring(0, plain.length() - 1) + (plain.endsWith("A") ? "B" : "A");
    add(HttpCase.error("endpoint id one char off", "POST", "/h/" + off, json(), body(), 404, "not_found"));
    add(HttpCase.error("endpoint id upper-cased", "POST", "/h/" + plain.toUpperCase() + "x", json(), body(), 404,
        "not_found"));
    // Past the URI length limit: refused by the HTTP layer.
    add(new HttpCase("uri too long", "POST", "/h/" + "x".repeat(10_000), json(), body(), false, Set.of(414), null,
        false));
    // No id, or more path than the route has: no route (the HTTP layer's plain 404, or 405 where
    // another route serves the path with another method).
    add(new HttpCase("no endpoint id", "POST", "/h/", json(), body(), false, Set.of(404, 405), null, false));
    add(new HttpCase("extra path segment", "POST", "/h/" + plain + "/extra", json(), body(), false, Set.of(404, 405),
        null, false));
  }

  /** 405, or the route layer's 404 where no route serves the path with any method it tried. */
  private void wrongMethods() {
    for (String method : List.of("GET", "PUT", "DELETE", "PATCH")) {
      add(new HttpCase("wrong method", method, "/h/" + targets.plain(), json(),
          method.equals("GET") || method.equals("DELETE") ? null : body(), false, Set.of(404, 405), null, false));
    }
  }

  private void oversized() {
    for (int size : new int[] {maxBody + 1, maxBody + 1 + random.nextInt(10_000), maxBody * 4}) {
      byte[] body = Mutations.randomBytes(random, size);
      HttpCase sized = HttpCase.error("body over the limit", "POST", "/h/" + targets.plain(), json(), body, 413,
          "payload_too_large");
      add(sized);
      add(sized.chunkedBody());
    }
    // Over the limit to a signed endpoint and to an unknown one: size is checked, or the id first.
    String signed = targets.signedByProvider().values().iterator().next();
    add(HttpCase.error("body over the limit, signed endpoint", "POST", "/h/" + signed, json(),
        Mutations.randomBytes(random, maxBody * 2), 413, "payload_too_large"));
    add(HttpCase.error("body over the limit, unknown endpoint", "POST", "/h/nope" + random.nextInt(1000), json(),
        Mutations.randomBytes(random, maxBody * 2), 404, "not_found"));
  }

  private void badSignatures(int count) {
    List<String> providers = List.copyOf(targets.signedByProvider().keySet()).stream().sorted().toList();
    for (int i = 0; i < count; i++) {
      String provider = providers.get(i % providers.size());
      String endpoint = targets.signedByProvider().get(provider);
      add(HttpCase.error("bad " + provider + " signature", "POST", "/h/" + endpoint, badSignature(provider), body(),
          401, "invalid_signature"));
    }
  }

  /** Headers for the provider that never verify: missing, malformed, wrong length, wrong value, stale. */
  private Map<String, String> badSignature(String provider) {
    long now = Instant.now().getEpochSecond();
    String hex32 = hex(32);
    String anyHex = hex(random.nextInt(40));
    String junk = Mutations.randomAscii(random, 1 + random.nextInt(60));
    int variant = random.nextInt(5);
    return switch (provider) {
      case "stripe" -> withJson("Stripe-Signature", switch (variant) {
        case 0 -> "t=" + now + ",v1=" + hex32;
        case 1 -> "t=" + now + ",v1=" + anyHex;
        case 2 -> "t=" + (now - 3600 - random.nextInt(100_000)) + ",v1=" + hex32;
        case 3 -> Mutations.pick(random, List.of("t=" + now, "v1=" + hex32, "t=abc,v1=" + hex32, "t=,v1=",
            "t=" + now + ",t=" + now + ",v1=" + hex32, ",,,", "=", "t=99999999999999999999,v1=" + hex32));
        default -> junk;
      });
      case "github", "generic" -> withJson(provider.equals("github") ? "X-Hub-Signature-256" : "X-Webhook-Signature",
          switch (variant) {
            case 0 -> "sha256=" + hex32;
            case 1 -> "sha256=" + anyHex;
            case 2 -> Mutations.pick(random, List.of("sha1=" + hex(20), "sha256=", "SHA256=" + hex32, hex32,
                "sha256=" + hex32.toUpperCase() + "00", "sha256=zz" + hex32.substring(2)));
            default -> junk;
          });
      case "telegram" -> withJson("X-Telegram-Bot-Api-Secret-Token", switch (variant) {
        case 0, 1 -> Mutations.randomToken(random, 1 + random.nextInt(256));
        case 2 -> Mutations.randomToken(random, 257 + random.nextInt(100));
        default -> junk;
      });
      default -> { // standard-webhooks
        String id = "msg_" + Mutations.randomToken(random, 12);
        String sig = "v1," + Base64.getEncoder().encodeToString(Mutations.randomBytes(random, 32));
        Map<String, String> h = new java.util.TreeMap<>(json());
        switch (variant) {
          case 0 -> h.putAll(Map.of("webhook-id", id, "webhook-timestamp", Long.toString(now), "webhook-signature", sig));
          case 1 -> h.putAll(Map.of("webhook-id", id, "webhook-timestamp", "x" + now, "webhook-signature", sig));
          case 2 -> h.putAll(Map.of("webhook-id", id, "webhook-timestamp", Long.toString(now), "webhook-signature",
              Mutations.pick(random, List.of("v2," + sig.substring(3), "v1,", "v1,@@@", junk, "v1 " + sig.substring(3)))));
          case 3 -> h.putAll(Map.of("webhook-id", id, "webhook-timestamp", Long.toString(now - 86_400), "webhook-signature", sig));
          default -> h.put("webhook-signature", sig); // id and timestamp missing
        }
        yield h;
      }
    };
  }

  private void oddContent(int count) {
    for (int i = 0; i < count; i++) {
      String contentType = Mutations.pick(random, List.of(";;;", "application/", "text/plain; charset=utf-99",
          "multipart/form-data", "multipart/form-data; boundary=", "application/json; charset=\"", "x/y; q=;;",
          Mutations.randomAscii(random, 1 + random.nextInt(30)).replace(",", ""), "application/octet-stream"));
      byte[] body = random.nextInt(4) == 0 ? new byte[0] : Mutations.randomBytes(random, random.nextInt(maxBody + 1));
      add(new HttpCase("odd content type and body", "POST", "/h/" + targets.plain(), Map.of("Content-Type", contentType),
          body, random.nextInt(3) == 0, Set.of(200), null, true));
    }
  }

  private void add(HttpCase c) {
    cases.add(c);
  }

  private static Map<String, String> json() {
    return Map.of("Content-Type", "application/json");
  }

  private static Map<String, String> withJson(String header, String value) {
    return Map.of("Content-Type", "application/json", header, value);
  }

  private byte[] body() {
    return Mutations.utf8("{\"event\":\"" + Mutations.randomToken(random, 1 + random.nextInt(40)) + "\"}");
  }

  private String hex(int bytes) {
    return HexFormat.of().formatHex(Mutations.randomBytes(random, bytes));
  }

  private String randomUnicode(int length) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < length; i++) {
      int cp;
      do {
        cp = random.nextInt(0x2FFFF) + 0x80;
      } while (!Character.isDefined(cp) || Character.getType(cp) == Character.SURROGATE
          || Character.getType(cp) == Character.PRIVATE_USE || Character.isISOControl(cp));
      s.appendCodePoint(cp);
    }
    return s.toString();
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
