package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** The scanner on raw request bytes: heads as sent, bodies skipped by their framing, whole or byte by byte. */
class RequestHeadScannerTest {
  private final List<RawRequestHead> heads = new ArrayList<>();
  private final List<String> lost = new ArrayList<>();
  private final RequestHeadScanner scanner = new RequestHeadScanner(1024, new RequestHeadScanner.Listener() {
    @Override
    public void head(RawRequestHead head) {
      heads.add(head);
    }

    @Override
    public void lost(String reason) {
      lost.add(reason);
    }
  });

  private static final String FAKE_HEAD = "GET /inside HTTP/1.1\r\nHost: x\r\n\r\n";
  private static final String PIPELINED = "POST /a?q=1 HTTP/1.1\r\nHost: h\r\nContent-Type: Application/JSON; x=\"1\"\r\n"
      + "X-Tag: a\r\nX-Tag:  b\t \r\nContent-Length: " + FAKE_HEAD.length() + "\r\n\r\n" + FAKE_HEAD
      + "\r\n" // an empty line between requests
      + "POST /b HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n"
      + Integer.toHexString(FAKE_HEAD.length()) + ";ext=\"v\"\r\n" + FAKE_HEAD + "\r\n"
      + "0\r\nX-Trailer: t\r\n\r\n"
      + "GET /c HTTP/1.1\r\nHost: h\r\nX-Note: caf\u00c3\u00a9\r\n\r\n";

  @Test
  void pipelinedHeadsAreFoundWholeAndBodiesSkipped() {
    scanner.feed(ByteString.fromString(PIPELINED, StandardCharsets.ISO_8859_1));
    assertPipelined();
  }

  @Test
  void headsAreFoundWhenTheBytesArriveOneByOne() {
    byte[] bytes = PIPELINED.getBytes(StandardCharsets.ISO_8859_1);
    for (byte b : bytes) {
      scanner.feed(ByteString.fromArray(new byte[] {b}));
    }
    assertPipelined();
  }

  private void assertPipelined() {
    assertEquals(List.of(), lost);
    assertEquals(List.of("/a?q=1", "/b", "/c"), heads.stream().map(RawRequestHead::target).toList());
    RawRequestHead first = heads.get(0);
    assertEquals("POST", first.method());
    assertEquals(List.of(new RawRequestHead.Field("Host", "h"),
        new RawRequestHead.Field("Content-Type", "Application/JSON; x=\"1\""),
        new RawRequestHead.Field("X-Tag", "a"), new RawRequestHead.Field("X-Tag", "b"),
        new RawRequestHead.Field("Content-Length", String.valueOf(FAKE_HEAD.length()))), first.fields());
    assertEquals(FAKE_HEAD.length(), first.contentLength());
    assertTrue(heads.get(1).chunked());
    assertEquals(new RawRequestHead.Field("X-Note", "caf\u00c3\u00a9"), heads.get(2).fields().get(1));
    assertFalse(scanner.lost());
  }

  @Test
  void aWebSocketUpgradeStopsTheScan() {
    scanner.feed(ByteString.fromString("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n"
        + "POST /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    assertEquals(List.of("/ws"), heads.stream().map(RawRequestHead::target).toList());
    assertEquals(List.of("WebSocket upgrade offered"), lost);
  }

  @Test
  void framingPekkoHttpRefusesStopsTheScanWithoutAHead() {
    for (String head : List.of("Transfer-Encoding: gzip, chunked", "Transfer-Encoding: chunked\r\nContent-Length: 3",
        "Content-Length: 3\r\nContent-Length: 4", "Content-Length: +3")) {
      heads.clear();
      lost.clear();
      RequestHeadScanner fresh = new RequestHeadScanner(1024, new RequestHeadScanner.Listener() {
        @Override
        public void head(RawRequestHead h) {
          heads.add(h);
        }

        @Override
        public void lost(String reason) {
          lost.add(reason);
        }
      });
      fresh.feed(ByteString.fromString("POST /x HTTP/1.1\r\nHost: h\r\n" + head + "\r\n\r\nabc"));
      assertEquals(List.of(), heads, head);
      assertEquals(1, lost.size(), head);
      assertTrue(fresh.lost());
    }
  }

  @Test
  void aMalformedChunkStopsTheScan() {
    scanner.feed(ByteString.fromString("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        + "POST /y HTTP/1.1\r\nHost: h\r\n\r\n"));
    assertEquals(List.of("/x"), heads.stream().map(RawRequestHead::target).toList());
    assertEquals(List.of("malformed chunk size"), lost);
  }

  @Test
  void anOverlongHeadStopsTheScan() {
    scanner.feed(ByteString.fromString("POST /x HTTP/1.1\r\nX-Big: " + "a".repeat(2000) + "\r\n\r\n"));
    assertEquals(List.of(), heads);
    assertEquals(1, lost.size());
  }

  @Test
  void aFoldedLineIsMarked() {
    scanner.feed(ByteString.fromString("POST /x HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n b\r\n\r\n"));
    assertTrue(heads.get(0).folded());
    assertEquals(List.of(new RawRequestHead.Field("Host", "h"), new RawRequestHead.Field("X-Long", "a")),
        heads.get(0).fields());
  }
}
