package dev.conduit.tunnel;

import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameEventOrError;
import org.apache.pekko.http.impl.engine.ws.FrameLogger$;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.impl.engine.ws.WebSocket$;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.scaladsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * Answers a WebSocket upgrade so that the relay's close frame carries its status code and reason.
 *
 * <p>pekko-http's message API always closes with 1000 and no reason (akka/akka-http#2458: no user API
 * for a close code). This class therefore uses pekko-http's frame-level upgrade
 * ({@code UpgradeToWebSocketLowLevel.handleFrames}, internal API) and composes the protocol stack itself:
 * pekko-http's frame parser and renderer (below this class), its frame handler and frame-out handler
 * (control frames, fragmentation rules, UTF-8 of text, the close handshake) and keep-alive; ours where
 * pekko-http's cost the relay per message or per byte: {@link Unmasking} (a word at a time),
 * {@link WholeFrames} (a frame's parts joined) and {@link MessageFrames} (in the place of the message
 * API, which materialised sub-streams per message). It rewrites only the relay's own regular close frame
 * into the close chosen for the socket ({@link WebSocketBridge.Ending}); relayed data, queued as bytes, is
 * written with the text opcode. These are the places that depend on pekko-http internals:
 * TunnelCloseReasonTest, WholeFramesTest, MessageFramesTest and UnmaskingTest fail if an upgrade changes
 * them.
 */
final class WebSocketFrames {
  /** RFC 6455 opcode of a close frame. */
  private static final byte CLOSE = 8;

  private final WebSocketSettings settings;
  private final LoggingAdapter log;
  private final int maxFrameBytes;
  private final java.time.Duration assemblyTimeout;
  /**
   * The protocol stack's blueprint, built once and materialised for every socket: built per socket, its
   * modules, shapes and attributes stayed reachable for the socket's life (part of an idle instance's heap).
   */
  private final BidiFlow<FrameEvent, Message, Message, FrameEvent, NotUsed> stack;

  /**
   * maxFrameBytes and assemblyTimeout bound the frames joined whole before pekko-http sees them (WholeFrames);
   * closeTimeout bounds the close handshake (pekko-http's frame handler; the socket's own bound is its Ending's).
   */
  WebSocketFrames(ActorSystem<?> system, int maxFrameBytes, java.time.Duration assemblyTimeout,
                  java.time.Duration closeTimeout) {
    this.maxFrameBytes = maxFrameBytes;
    this.assemblyTimeout = assemblyTimeout;
    this.settings = (WebSocketSettings) org.apache.pekko.http.javadsl.settings.ServerSettings.create(system.classicSystem())
        .getWebsocketSettings();
    this.log = Logging.getLogger(system.classicSystem(), WebSocketFrames.class);
    this.stack = stack(FiniteDuration.create(closeTimeout.toMillis(), TimeUnit.MILLISECONDS));
  }

  /** The switching-protocols response that runs messages over the upgraded connection. */
  HttpResponse handle(WebSocketUpgrade upgrade, Flow<Message, Message, ?> messages, WebSocketBridge.Ending ending) {
    Flow<FrameEvent, FrameEvent, NotUsed> frames = Flow.<FrameEvent>create()
        .via(ending.cut().flow())
        // MessageFrames speaks the javadsl's messages: no conversion stage on either side of the relay's flow.
        .via(stack.join(messages.mapMaterializedValue(m -> NotUsed.getInstance()).asScala()))
        .map(frame -> withReason(frame, ending))
        .via(ending.cut().flow())
        .watchTermination((notUsed, done) -> {
          done.whenComplete((d, failure) -> ending.finished());
          return notUsed;
        });
    @SuppressWarnings("unchecked")
    Graph<FlowShape<FrameEvent, FrameEvent>, Object> handler = (Graph<FlowShape<FrameEvent, FrameEvent>, Object>) (Graph<?, ?>) frames;
    return ((UpgradeToWebSocketLowLevel) upgrade).handleFrames(handler, Option.empty());
  }

  /**
   * pekko-http's server stack ({@code WebSocket.stack}: masking, frame logging, frame handling, keep-alive,
   * message API) with {@link Unmasking} for its masking, {@link WholeFrames} between unmasking and frame
   * handling, and {@link MessageFrames} for its message API.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private BidiFlow<FrameEvent, Message, Message, FrameEvent, NotUsed> stack(FiniteDuration closeTimeout) {
    WebSocket$ ws = WebSocket$.MODULE$;
    BidiFlow<FrameEventOrError, FrameEventOrError, FrameEvent, FrameEvent, NotUsed> whole =
        BidiFlow.fromFlows(org.apache.pekko.stream.scaladsl.Flow.fromGraph(new WholeFrames(maxFrameBytes, assemblyTimeout)),
            org.apache.pekko.stream.scaladsl.Flow.<FrameEvent>apply());
    // Raw types: the Scala signatures are covariant (FrameStart for FrameEvent), which Java cannot express.
    // Ours, not ws.masking: a server only unmasks, and Unmasking does it eight bytes a step.
    BidiFlow<FrameEvent, FrameEventOrError, FrameEvent, FrameEvent, NotUsed> unmasking =
        BidiFlow.fromFlows(org.apache.pekko.stream.scaladsl.Flow.fromGraph(new Unmasking()),
            org.apache.pekko.stream.scaladsl.Flow.<FrameEvent>apply());
    BidiFlow stack = unmasking
        .atop(FrameLogger$.MODULE$.logFramesIfEnabled(settings.logFrames()))
        .atop(whole);
    stack = stack.atop((Graph) ws.frameHandling(true, closeTimeout, log));
    stack = stack.atop((Graph) ws.periodicKeepAlive(settings));
    // Ours, not ws.messageAPI: no sub-stream per message (see MessageFrames).
    stack = stack.atop(BidiFlow.fromGraph(new MessageFrames(
        java.time.Duration.ofNanos(closeTimeout.toNanos()))));
    return stack;
  }

  /** The relay's close frame, with the status and reason of the close chosen for this socket. */
  private static FrameEvent withReason(FrameEvent frame, WebSocketBridge.Ending ending) {
    SocketClose close = ending.close();
    if (close != null && frame instanceof FrameStart start
        && start.header().opcode().code() == CLOSE) {
      return FrameEvent$.MODULE$.closeFrame(close.status, close.reason, Option.empty());
    }
    return frame;
  }
}
