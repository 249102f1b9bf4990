package dev.conduit.server;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * One plaintext port, two protocols: a connection that opens with the HTTP/2 client preface (RFC 9113
 * §3.4, "prior knowledge", as gRPC clients speak h2c) goes to an HTTP/2 server stack, every other to the
 * HTTP/1.1 one. Decided on the bytes, before either parser reads them, so the HTTP/1.1 side keeps what
 * only it has (the raw request head as sent, {@link RawHeadCapture}) and an HTTP/1.1 request offering
 * {@code Upgrade: h2c} is simply answered over HTTP/1.1, as RFC 9113 §3.1 allows; pekko-http's own
 * combined binding upgrades such requests itself and then loses bodies over ~64 KB.
 */
public final class PrefaceSwitch {
  /** RFC 9113 §3.4: every HTTP/2 connection starts with these 24 bytes. */
  static final ByteString PREFACE = ByteString.fromString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", StandardCharsets.US_ASCII);

  private PrefaceSwitch() {}

  /** Whether bytes open with the whole HTTP/2 preface. */
  static boolean startsWithPreface(ByteString bytes) {
    return bytes.size() >= PREFACE.size() && bytes.take(PREFACE.size()).equals(PREFACE);
  }

  /**
   * A connection's byte flow: http2's when it opens with the preface, else http1's; the chosen one gets
   * every byte. Each is built only for a connection that speaks it.
   */
  public static Flow<ByteString, ByteString, NotUsed> flow(Supplier<Flow<ByteString, ByteString, NotUsed>> http1,
                                                           Supplier<Flow<ByteString, ByteString, NotUsed>> http2) {
    // "P" alone could still be "POST": the opening is held until it diverges from the preface or holds all of it.
    return Flow.fromGraph(new OpeningBytes(PrefaceSwitch::undecided, opening -> false, () -> { }))
        .flatMapPrefix(1, (List<ByteString> opening) -> {
          if (opening.isEmpty()) {
            return http1.get();
          }
          ByteString first = opening.get(0);
          return Flow.<ByteString>create().prepend(Source.single(first))
              .via(startsWithPreface(first) ? http2.get() : http1.get());
        });
  }

  /** The opening while it could still become either protocol: shorter than the preface and equal to its start. */
  static boolean undecided(ByteString opening) {
    return opening.size() < PREFACE.size() && PREFACE.take(opening.size()).equals(opening);
  }
}
