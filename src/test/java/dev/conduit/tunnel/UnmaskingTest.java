package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameError;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameEventParser$;
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

/** Unmasking gives RFC 6455's example and pekko-http's own unmasking for any data, key and split into parts. */
class UnmaskingTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Materializer MAT = Materializer.matFromSystem(KIT.system());
  private static final long HANG_GUARD_SECONDS = 30;
  private static final long SEED = 6455;

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static FrameHeader header(int opcode, Option<Object> mask, long length, boolean fin) {
    return new FrameHeader(Protocol.Opcode$.MODULE$.forCode((byte) opcode), mask, length, fin, false, false, false);
  }

  private static List<FrameEventOrError> run(List<FrameEvent> in) throws Exception {
    return Source.from(in).via(new Unmasking()).runWith(Sink.seq(), MAT)
        .toCompletableFuture().get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
  }

  @Test
  void rfc6455sMaskedHello() throws Exception {
    // RFC 6455 5.7: 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58 is a masked "Hello".
    ByteString masked = ByteString.fromArray(new byte[] {0x7f, (byte) 0x9f, 0x4d, 0x51, 0x58});
    List<FrameEventOrError> out = run(List.of(new FrameStart(header(1, Option.apply(0x37fa213d), 5, true), masked)));
    FrameStart start = assertInstanceOf(FrameStart.class, out.get(0));
    assertEquals("Hello", start.data().utf8String());
    assertTrue(start.header().mask().isEmpty(), "the header goes on unmasked");
  }

  @Test
  void anyDataKeyAndSplitGivePekkoHttpsResult() throws Exception {
    Random random = new Random(SEED);
    for (int round = 0; round < 300; round++) {
      byte[] payload = new byte[random.nextInt(200)];
      random.nextBytes(payload);
      int key = random.nextInt();
      ByteString expected = FrameEventParser$.MODULE$.mask(ByteString.fromArray(payload), key)._1();
      // Split the frame into parts at random points, as TCP reads would.
      List<FrameEvent> in = new ArrayList<>();
      int at = random.nextInt(payload.length + 1);
      in.add(new FrameStart(header(2, Option.apply(key), payload.length, true), ByteString.fromArray(payload, 0, at)));
      while (at < payload.length) {
        int next = Math.min(payload.length, at + 1 + random.nextInt(20));
        in.add(new FrameData(ByteString.fromArray(payload, at, next - at), next == payload.length));
        at = next;
      }
      ByteString unmasked = ByteString.emptyByteString();
      for (FrameEventOrError event : run(in)) {
        unmasked = unmasked.concat(((FrameEvent) event).data());
      }
      assertEquals(expected, unmasked, "round " + round + " (" + payload.length + " bytes in " + in.size() + " parts)");
    }
  }

  @Test
  void anUnmaskedFrameIsAProtocolErrorAndTheRestIsIgnored() throws Exception {
    FrameStart unmasked = new FrameStart(header(1, Option.empty(), 2, true), ByteString.fromString("hi"));
    FrameStart next = new FrameStart(header(1, Option.apply(1), 2, true), ByteString.fromString("hi"));
    List<FrameEventOrError> out = run(List.of(unmasked, next));
    assertEquals(1, out.size(), "nothing after the error: " + out);
    assertInstanceOf(FrameError.class, out.get(0));
  }
}
