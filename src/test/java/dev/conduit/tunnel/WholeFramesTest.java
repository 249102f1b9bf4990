package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import scala.Option;

/** Frames that arrive in parts reach pekko-http's frame handler whole; what it must judge itself, it still gets. */
class WholeFramesTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Materializer MAT = Materializer.matFromSystem(KIT.system());
  private static final int MAX = 64;
  /** Guards against a hang only; the stream completes as soon as its finite source is through. */
  private static final long HANG_GUARD_SECONDS = 30;

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static Protocol.Opcode opcode(int code) {
    return Protocol.Opcode$.MODULE$.forCode((byte) code);
  }

  private static FrameHeader header(int opcode, long length, boolean fin) {
    return new FrameHeader(opcode(opcode), Option.empty(), length, fin, false, false, false);
  }

  private static ByteString utf8(String s) {
    return ByteString.fromArray(s.getBytes(StandardCharsets.UTF_8));
  }

  private static List<FrameEventOrError> run(List<FrameEventOrError> in, Duration timeout) throws Exception {
    return Source.from(in).via(new WholeFrames(MAX, timeout)).runWith(Sink.seq(), MAT)
        .toCompletableFuture().get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
  }

  @Test
  void aTextFrameInPartsBecomesOneBinaryFrameOfItsBytes() throws Exception {
    String json = "{\"type\":\"ping\",\"x\":\"é\"}";
    ByteString all = utf8(json);
    List<FrameEventOrError> out = run(List.of(new FrameStart(header(1, all.size(), true), all.take(5)),
        new FrameData(all.slice(5, 12), false), new FrameData(all.drop(12), true)), Duration.ofSeconds(10));
    FrameStart whole = assertInstanceOf(FrameStart.class, out.get(0));
    assertEquals(1, out.size());
    assertEquals(2, whole.header().opcode().code());
    assertEquals(all, whole.data());
    assertEquals(true, whole.lastPart());
  }

  @Test
  void controlFramesOversizedFramesFragmentsAndInvalidUtf8PassAsTheyCame() throws Exception {
    FrameStart ping = new FrameStart(header(9, 2, true), utf8("hi"));
    ByteString big = utf8("x".repeat(MAX + 1));
    FrameStart bigStart = new FrameStart(header(1, big.size(), true), big.take(10));
    FrameData bigRest = new FrameData(big.drop(10), true);
    FrameStart fragment = new FrameStart(header(1, 3, false), utf8("{\"t"));
    FrameStart continuation = new FrameStart(header(0, 2, true), utf8("\"}"));
    ByteString invalid = ByteString.fromArray(new byte[] {'"', (byte) 0xC3, '"'});
    FrameStart invalidText = new FrameStart(header(1, 3, true), invalid);
    List<FrameEventOrError> in = List.of(ping, bigStart, bigRest, fragment, continuation, invalidText);
    List<FrameEventOrError> out = run(in, Duration.ofSeconds(10));
    assertEquals(in.size(), out.size());
    for (int i = 0; i < in.size(); i++) {
      assertSame(in.get(i), out.get(i), "event " + i);
    }
  }

  @Test
  void aFrameWhosePartsStopComingFailsTheConnection() {
    ByteString all = utf8("{\"type\":\"ping\"}");
    Source<FrameEventOrError, ?> stalled = Source.<FrameEventOrError>single(new FrameStart(header(1, all.size(), true), all.take(3)))
        .concat(Source.never());
    ExecutionException failed = assertThrows(ExecutionException.class, () -> stalled
        .via(new WholeFrames(MAX, Duration.ofMillis(50))).runWith(Sink.seq(), MAT).toCompletableFuture()
        .get(HANG_GUARD_SECONDS, TimeUnit.SECONDS));
    assertInstanceOf(WholeFrames.AssemblyTimeout.class, failed.getCause());
  }

  @Test
  void aCloseFrameIsUntouched() throws Exception {
    FrameStart close = FrameEvent$.MODULE$.closeFrame(1000, "bye", Option.empty());
    assertSame(close, run(List.of(close), Duration.ofSeconds(10)).get(0));
  }
}
