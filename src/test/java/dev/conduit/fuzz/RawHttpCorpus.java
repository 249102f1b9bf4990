package dev.conduit.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Malformed HTTP/1.1 on the wire, below what an HTTP client would send: garbage request lines, bad
 * headers, broken chunked encoding, Content-Length that lies. Each may be answered by a status in
 * statuses (every response on the connection) or by the connection closing without a response.
 */
final class RawHttpCorpus {
  record RawCase(String label, byte[] request, Set<Integer> statuses) {
    @Override
    public String toString() {
      String shown = new String(request, StandardCharsets.ISO_8859_1);
      shown = shown.length() > 160 ? shown.substring(0, 160) + "…(" + request.length + " bytes)" : shown;
      return label + " " + shown.replace("\r", "\\r").replace("\n", "\\n") + " expecting one of " + statuses
          + " or a clean close";
    }
  }

  private static final Set<Integer> BAD_REQUEST = Set.of(400);

  private RawHttpCorpus() {}

  /** plain: an unsigned endpoint id (requests to it are valid up to their flaw). */
  static List<RawCase> generate(SplittableRandom random, int count, String plain) {
    List<RawCase> cases = new ArrayList<>();
    String ingest = "POST /h/" + plain + " HTTP/1.1\r\nHost: fuzz\r\n";
    String unknown = "POST /h/unknown-endpoint HTTP/1.1\r\nHost: fuzz\r\n";
    add(cases, "request line without version", "GET /healthz\r\n\r\n", Set.of(400, 505));
    add(cases, "unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: fuzz\r\n\r\n", Set.of(400, 505));
    add(cases, "lower-case version", "GET /healthz http/1.1\r\nHost: fuzz\r\n\r\n", Set.of(400, 505));
    add(cases, "unknown method", "FROB /healthz HTTP/1.1\r\nHost: fuzz\r\n\r\n", Set.of(400, 405, 501));
    add(cases, "method with junk", "G\u0001ET /healthz HTTP/1.1\r\nHost: fuzz\r\n\r\n", Set.of(400, 501));
    add(cases, "illegal characters in the target", "GET /h/<{|}> HTTP/1.1\r\nHost: fuzz\r\n\r\n", BAD_REQUEST);
    add(cases, "bad percent escape", "POST /h/%zz HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 0\r\n\r\n", BAD_REQUEST);
    add(cases, "target too long", "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: fuzz\r\n\r\n", Set.of(400, 414));
    add(cases, "header without colon", "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nNoColonHere\r\n\r\n", BAD_REQUEST);
    add(cases, "space in header name", "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nBad Name: x\r\n\r\n", BAD_REQUEST);
    add(cases, "NUL in header value", "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nX-A: a\u0000b\r\n\r\n", BAD_REQUEST);
    add(cases, "header value too long", "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nX-A: " + "v".repeat(20_000)
        + "\r\n\r\n", Set.of(400, 431));
    add(cases, "too many headers", "GET /healthz HTTP/1.1\r\nHost: fuzz\r\n" + "X-H: v\r\n".repeat(500) + "\r\n",
        Set.of(400, 431));
    add(cases, "two Host headers", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BAD_REQUEST);
    add(cases, "Content-Length not a number", unknown + "Content-Length: abc\r\n\r\n", BAD_REQUEST);
    add(cases, "negative Content-Length", unknown + "Content-Length: -5\r\n\r\n", BAD_REQUEST);
    add(cases, "two Content-Lengths", unknown + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", BAD_REQUEST);
    add(cases, "chunked and Content-Length", ingest + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        + "5\r\nhello\r\n0\r\n\r\n", BAD_REQUEST);
    add(cases, "unknown transfer coding", ingest + "Transfer-Encoding: rot13\r\n\r\nhello", Set.of(400, 501));
    add(cases, "chunk size not hex", ingest + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", BAD_REQUEST);
    add(cases, "chunk shorter than its size", ingest + "Transfer-Encoding: chunked\r\n\r\n10\r\nhello\r\n0\r\n\r\n",
        BAD_REQUEST);
    add(cases, "chunk without CRLF", ingest + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", BAD_REQUEST);
    add(cases, "chunk size overflow", ingest + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n",
        Set.of(400, 413));
    add(cases, "chunked body ends early", ingest + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", BAD_REQUEST);
    add(cases, "Content-Length longer than the body", ingest + "Content-Length: 100\r\n\r\n{\"short\":1}", BAD_REQUEST);
    // The surplus bytes are read as a second request: 404 for the first, 400 for the junk after it.
    add(cases, "Content-Length shorter than the body", unknown + "Content-Length: 2\r\n\r\n{}junk junk junk\r\n\r\n",
        Set.of(404, 400));
    for (int i = 0; i < count; i++) {
      byte[] junk = Mutations.randomBytes(random, 1 + random.nextInt(200));
      // Junk can read as an unknown method (501) or protocol version (505): HTTP's own refusals, not faults.
      cases.add(new RawCase("random bytes #" + i, concat(junk, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)),
          Set.of(400, 414, 431, 501, 505)));
    }
    return cases;
  }

  private static void add(List<RawCase> cases, String label, String request, Set<Integer> statuses) {
    cases.add(new RawCase(label, request.getBytes(StandardCharsets.ISO_8859_1), statuses));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
