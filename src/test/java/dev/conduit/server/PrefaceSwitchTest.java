package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The protocol is chosen on the connection's opening bytes however the network splits them, and the
 * chosen side gets every byte, in order, unchanged.
 */
class PrefaceSwitchTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final ByteString PREFACE = PrefaceSwitch.PREFACE;

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  /** Each side tags what it receives, so the output tells which side got the bytes. */
  private static String run(List<ByteString> chunks) throws Exception {
    Flow<ByteString, ByteString, NotUsed> http1 =
        Flow.<ByteString>create().map(b -> ByteString.fromString("1:").concat(b));
    Flow<ByteString, ByteString, NotUsed> http2 =
        Flow.<ByteString>create().map(b -> ByteString.fromString("2:").concat(b));
    return Source.from(chunks).via(PrefaceSwitch.flow(() -> http1, () -> http2))
        .runWith(Sink.fold(ByteString.emptyByteString(), ByteString::concat), KIT.system())
        .toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).utf8String();
  }

  private static List<ByteString> split(String text, int... sizes) {
    ByteString bytes = ByteString.fromString(text, StandardCharsets.US_ASCII);
    List<ByteString> chunks = new ArrayList<>();
    int at = 0;
    for (int size : sizes) {
      chunks.add(bytes.slice(at, at + size));
      at += size;
    }
    chunks.add(bytes.drop(at));
    return chunks;
  }

  @Test
  void http2PrefaceInOneRead() throws Exception {
    String h2 = PREFACE.utf8String() + "frames";
    assertEquals("2:" + h2, run(List.of(ByteString.fromString(h2))));
  }

  @Test
  void http2PrefaceSplitByteByByteStillGoesToHttp2() throws Exception {
    String h2 = PREFACE.utf8String() + "frames";
    int[] ones = new int[PREFACE.size()];
    java.util.Arrays.fill(ones, 1);
    // The held opening goes out as one element, then the rest as it came.
    assertEquals("2:" + PREFACE.utf8String() + "2:frames", run(split(h2, ones)));
  }

  @Test
  void postThatStartsLikeThePrefaceGoesToHttp11() throws Exception {
    // "P" could be either; "PO" is not the preface.
    assertEquals("1:PO1:ST / HTTP/1.1\r\n", run(split("POST / HTTP/1.1\r\n", 1, 1)));
    assertEquals("1:GET / HTTP/1.1\r\n", run(List.of(ByteString.fromString("GET / HTTP/1.1\r\n"))));
  }

  @Test
  void aConnectionThatEndsInsideThePrefaceGoesToHttp11WithItsBytes() throws Exception {
    assertEquals("1:PRI * HT", run(split("PRI * HT", 3)));
    assertEquals("", run(List.of()));
  }
}
