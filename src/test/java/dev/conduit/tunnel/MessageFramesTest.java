package dev.conduit.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import com.typesafe.config.ConfigFactory;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import scala.Option;

/**
 * The relay's message layer (in the place of pekko-http's message API): one-part messages come out strict,
 * several parts come out streamed and whole, bypass events (pong answers, closes) reach the frame side in
 * order, a peer's close ends the inbound side as pekko-http's API ended it, and strict messages go out as
 * one text frame each, followed by the end of the relay's side.
 */
class MessageFramesTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Materializer MAT = Materializer.matFromSystem(KIT.system());
  /** Guards against a hang only; every stream here ends as soon as its finite sources are through. */
  private static final long HANG_GUARD_SECONDS = 30;
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static ByteString utf8(String s) {
    return ByteString.fromArray(s.getBytes(StandardCharsets.UTF_8));
  }

  private static FrameHandler.Output text(String s, boolean last) {
    return new FrameHandler.TextMessagePart(s, last);
  }

  private static FrameHandler.Output binary(String s, boolean last) {
    return new FrameHandler.BinaryMessagePart(utf8(s), last);
  }

  private static final FrameHandler.Output END = FrameHandler.MessageEnd$.MODULE$;

  private static FrameHandler.PeerClosed peerClosed(int code) {
    return new FrameHandler.PeerClosed(Option.apply(code), "");
  }

  /** A message as the relay saw it: strict or streamed, text or binary, and its whole content. */
  private static CompletionStage<String> describe(Message m) {
    if (m.isText()) {
      TextMessage t = m.asTextMessage();
      return t.isStrict() ? CompletableFuture.completedFuture("strict text " + t.getStrictText())
          : t.getStreamedText().runFold("streamed text ", String::concat, MAT);
    }
    BinaryMessage b = m.asBinaryMessage();
    return b.isStrict() ? CompletableFuture.completedFuture("strict binary " + b.getStrictData().utf8String())
        : b.getStreamedData().runFold(ByteString.emptyByteString(), ByteString::concat, MAT)
            .thenApply(all -> "streamed binary " + all.utf8String());
  }

  /** Runs the stage between the frame side (fromNet in, what it writes out) and the relay (out in, what it read). */
  private static Pair<CompletionStage<List<Object>>, CompletionStage<List<String>>> run(
      List<FrameHandler.Output> fromNet, List<Message> fromRelay) {
    Flow<Message, Message, CompletionStage<List<String>>> relay = Flow.fromSinkAndSourceMat(
        Flow.<Message>create().mapAsync(1, MessageFramesTest::describe).toMat(Sink.seq(), Keep.right()),
        Source.from(fromRelay), Keep.left());
    BidiFlow<FrameHandler.Output, Message, Message, Object, NotUsed> stage =
        BidiFlow.fromGraph(new MessageFrames(CLOSE_TIMEOUT));
    return Source.from(fromNet).viaMat(stage.join(relay, Keep.<NotUsed, CompletionStage<List<String>>>right()), Keep.right())
        .toMat(Sink.seq(), (read, written) -> Pair.create(written, read)).run(MAT);
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
  }

  @Test
  void oneFramePerMessageIsStrictAndFragmentsAreStreamedWholeAroundAPing() throws Exception {
    FrameStart pong = FrameEvent$.MODULE$.fullFrame(Protocol.Opcode$.MODULE$.forCode((byte) 10), Option.empty(),
        utf8("hi"), true, false, false, false);
    FrameHandler.DirectAnswer answer = new FrameHandler.DirectAnswer(pong);
    FrameHandler.PeerClosed bye = peerClosed(1000);
    var result = run(List.of(
        binary("{\"type\":\"ping\"}", true), END,
        text("{\"ty", false), answer, text("", false), text("pe\":", false), text("1}", true), END,
        binary("ab", false), binary("cd", true), END,
        text("é", true), END,
        bye), List.of());

    assertEquals(List.of("strict binary {\"type\":\"ping\"}", "streamed text {\"type\":1}", "streamed binary abcd",
        "strict text é"), await(result.second()), "messages in order, whole, completed by the regular close");
    List<Object> written = await(result.first());
    assertEquals(List.of(answer, bye), written.stream().filter(o -> o instanceof FrameHandler.DirectAnswer
        || o instanceof FrameHandler.PeerClosed).toList(), "the pong answer, then the peer's close, to the frame side");
    assertTrue(written.contains(FrameHandler.UserHandlerCompleted$.MODULE$), "the relay's side ended: " + written);
  }

  @Test
  void aPeerClosingWithAnErrorCodeFailsTheInboundSide() {
    var result = run(List.of(binary("{}", true), END, peerClosed(1011)), List.of());
    ExecutionException failed = assertThrows(ExecutionException.class, () -> await(result.second()));
    PeerClosedConnectionException closed = assertInstanceOf(PeerClosedConnectionException.class, failed.getCause());
    assertEquals(1011, closed.closeCode());
  }

  @Test
  void aPeerClosingInTheMiddleOfAMessageFailsItAsTruncated() {
    var result = run(List.of(text("{\"ty", false), peerClosed(1000)), List.of());
    ExecutionException failed = assertThrows(ExecutionException.class, () -> await(result.second()));
    assertInstanceOf(ProtocolException.class, failed.getCause());
  }

  @Test
  void strictMessagesGoOutAsOneTextFrameEach() throws Exception {
    var result = run(List.of(), List.of(
        TextMessage.create("{\"type\":\"pong\",\"x\":\"é\"}"),
        BinaryMessage.create(utf8("{\"type\":\"message\",\"payload\":\"AA==\"}"))));
    List<Object> written = await(result.first());
    assertEquals(3, written.size(), "two frames, then the end of the relay's side: " + written);
    for (int i = 0; i < 2; i++) {
      FrameStart frame = assertInstanceOf(FrameStart.class, written.get(i));
      assertEquals(1, frame.header().opcode().code(), "text opcode");
      assertTrue(frame.header().fin() && frame.lastPart(), "one whole frame");
    }
    assertEquals(utf8("{\"type\":\"pong\",\"x\":\"é\"}"), ((FrameStart) written.get(0)).data());
    assertEquals(utf8("{\"type\":\"message\",\"payload\":\"AA==\"}"), ((FrameStart) written.get(1)).data());
    assertSame(FrameHandler.UserHandlerCompleted$.MODULE$, written.get(2));
  }

  @Test
  void aStreamedOutboundMessageFailsTheSocket() {
    var result = run(List.of(), List.of(TextMessage.create(Source.single("x"))));
    ExecutionException failed = assertThrows(ExecutionException.class, () -> await(result.first()));
    assertInstanceOf(IllegalArgumentException.class, failed.getCause());
  }

  /**
   * The frame side is ticked for its close handshake's deadline only once a close has started: an open socket
   * costs no timer (at 10,000 idle sockets the ticks were most of the relay's idle CPU), and after the relay's
   * side ended the ticks come, so a peer that never answers the close is still let go. Time is manual: an
   * element offered after the clock moved arrives after any tick that moving it fired.
   */
  @Test
  void ticksOnlyOnceACloseHasStarted() throws Exception {
    ActorTestKit manual = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
    try {
      ManualTime time = ManualTime.get(manual.system());
      Materializer mat = Materializer.matFromSystem(manual.system());
      Duration closeTimeout = Duration.ofSeconds(5);
      CompletableFuture<Optional<Message>> relayEnds = new CompletableFuture<>();
      Flow<Message, Message, NotUsed> relay = Flow.fromSinkAndSource(Sink.ignore(),
          Source.<Message>maybe().mapMaterializedValue(end -> {
            relayEnds.thenAccept(end::complete);
            return NotUsed.getInstance();
          }));
      Pair<SourceQueueWithComplete<FrameHandler.Output>, SinkQueueWithCancel<Object>> ends =
          Source.<FrameHandler.Output>queue(16, OverflowStrategy.backpressure())
              .viaMat(BidiFlow.fromGraph(new MessageFrames(closeTimeout)).join(relay), Keep.left())
              .toMat(Sink.queue(), Keep.both()).run(mat);
      SourceQueueWithComplete<FrameHandler.Output> fromNet = ends.first();
      SinkQueueWithCancel<Object> toNet = ends.second();
      FrameHandler.DirectAnswer answer = new FrameHandler.DirectAnswer(FrameEvent$.MODULE$.fullFrame(
          Protocol.Opcode$.MODULE$.forCode((byte) 10), Option.empty(), utf8("hi"), true, false, false, false));

      await(fromNet.offer(answer));
      assertSame(answer, await(toNet.pull()).orElseThrow(), "the stage runs");
      time.timePasses(closeTimeout.multipliedBy(3));
      await(fromNet.offer(answer));
      assertSame(answer, await(toNet.pull()).orElseThrow(), "no tick while the socket is open");

      relayEnds.complete(Optional.empty());
      assertSame(FrameHandler.UserHandlerCompleted$.MODULE$, await(toNet.pull()).orElseThrow());
      time.timePasses(closeTimeout);
      assertSame(WebSocket.Tick$.MODULE$, await(toNet.pull()).orElseThrow(), "ticks once the relay's side ended");
    } finally {
      manual.shutdownTestKit();
    }
  }
}
