package dev.conduit.tunnel;

import java.time.Duration;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.ProtocolException;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.scaladsl.model.ws.PeerClosedConnectionException;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.GraphStageLogic.SubSourceOutlet;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;

/**
 * The message layer of the relay's WebSocket stack, in the place of pekko-http's
 * {@code WebSocket.messageAPI}: between pekko-http's frame handler (which keeps RFC 6455: control frames,
 * fragmentation rules, UTF-8 of text, the close handshake) and the socket's message flow.
 *
 * <p>Shape: {@code FrameHandler.Output} (message parts and bypass events, from the peer) → {@link Message}
 * (to the relay); {@link Message} (from the relay) → {@code FrameOutHandler.Input} (frames, bypass events,
 * completion of the relay's side, and, once a close has started, a tick every {@code closeTimeout} for the close
 * handshake's timeout).
 *
 * <p>Why: pekko-http's message API materialises sub-streams for every message ({@code splitAfter},
 * {@code prefixAndTail}, {@code concatSubstreams}, and {@code flatMapConcat} to render), which JFR under a
 * Node client showed as a third of the relay's CPU at 1 KiB frames. Here a message that arrives as one part
 * (every frame {@link WholeFrames} made whole) is handed on as a strict message, and a strict message is
 * written as one frame, with no sub-stream. A message in several parts (fragmented, or a frame over the
 * frame limit) still becomes a streamed message, through one sub-source, as pekko-http's API made it, so
 * the bridge folds or refuses it as before. What it passes on otherwise follows pekko-http's message API:
 * bypass events (answers to pings, the peer's close) go to the frame side first; a peer's close with an
 * error code fails the inbound side with {@link PeerClosedConnectionException}, a close in the middle of a
 * message fails it as truncated, a regular close completes it.
 *
 * <p>Outbound messages must be strict (the relay queues only strict ones); a streamed one fails the socket.
 * A {@code BinaryMessage} is written with the text opcode: the relay sends only JSON text, and queues data
 * it spliced as bytes (see {@link WebSocketFrames}).
 */
final class MessageFrames extends GraphStage<BidiShape<FrameHandler.Output, Message, Message, Object>> {
  private static final String TICK = "close-timeout-tick";

  private final Inlet<FrameHandler.Output> fromNet = Inlet.create("MessageFrames.fromNet");
  private final Outlet<Message> toUser = Outlet.create("MessageFrames.toUser");
  private final Inlet<Message> fromUser = Inlet.create("MessageFrames.fromUser");
  private final Outlet<Object> toNet = Outlet.create("MessageFrames.toNet");
  private final BidiShape<FrameHandler.Output, Message, Message, Object> shape =
      BidiShape.of(fromNet, toUser, fromUser, toNet);
  private final Duration closeTimeout;

  /** closeTimeout: how often the frame side is ticked to check its close handshake's deadline (pekko's closeTimeout). */
  MessageFrames(Duration closeTimeout) {
    this.closeTimeout = closeTimeout;
  }

  @Override
  public BidiShape<FrameHandler.Output, Message, Message, Object> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("MessageFrames");
  }

  /** The frame a strict outbound message is written as (binary data goes with the text opcode, see above). */
  static FrameStart frameOf(Message message) {
    if (message.isText() && message.asTextMessage().isStrict()) {
      return FrameEvent$.MODULE$.fullFrame(WholeFrames.TEXT_OPCODE, Option.empty(),
          ByteString.fromString(message.asTextMessage().getStrictText(), java.nio.charset.StandardCharsets.UTF_8),
          true, false, false, false);
    }
    if (!message.isText() && message.asBinaryMessage().isStrict()) {
      return FrameEvent$.MODULE$.fullFrame(WholeFrames.TEXT_OPCODE, Option.empty(),
          message.asBinaryMessage().getStrictData(), true, false, false, false);
    }
    throw new IllegalArgumentException("the relay writes strict messages only, got a streamed "
        + (message.isText() ? "text" : "binary") + " message");
  }

  /** A message that arrived in one part, as the strict message pekko-http's API would have made of it. */
  private static Message strict(FrameHandler.MessageDataPart part) {
    if (part instanceof FrameHandler.TextMessagePart text) {
      return org.apache.pekko.http.javadsl.model.ws.TextMessage.create(text.data());
    }
    return org.apache.pekko.http.javadsl.model.ws.BinaryMessage.create(((FrameHandler.BinaryMessagePart) part).data());
  }

  /** The element a part contributes to a streamed message (a String or a ByteString), or null if empty. */
  private static Object dataOf(FrameHandler.MessageDataPart part) {
    if (part instanceof FrameHandler.TextMessagePart text) {
      return text.data().isEmpty() ? null : text.data();
    }
    ByteString data = ((FrameHandler.BinaryMessagePart) part).data();
    return data.isEmpty() ? null : data;
  }

  @SuppressWarnings("unchecked")
  private static Message streamed(FrameHandler.MessageDataPart first, SubSourceOutlet<Object> parts) {
    Source<Object, NotUsed> source = Source.fromGraph(parts.source());
    if (first instanceof FrameHandler.TextMessagePart) {
      return org.apache.pekko.http.javadsl.model.ws.TextMessage.create((Source<String, ?>) (Source<?, ?>) source);
    }
    return org.apache.pekko.http.javadsl.model.ws.BinaryMessage.create((Source<ByteString, ?>) (Source<?, ?>) source);
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      /** The message in several parts being passed on (null: none, or nobody reads it). */
      private SubSourceOutlet<Object> parts;
      /** A part for {@link #parts} not yet taken by its reader (null: none). */
      private Object pending;
      /** Inside a message in several parts (passed on, or dropped because nobody reads it). */
      private boolean inMessage;
      private boolean userDone;
      /** Ticks for the close handshake's deadline run (see closeStarted). */
      private boolean ticking;

      {
        setHandler(fromNet, new AbstractInHandler() {
          @Override
          public void onPush() {
            FrameHandler.Output output = grab(fromNet);
            if (output instanceof FrameHandler.BypassEvent bypass) {
              if (!(bypass instanceof FrameHandler.DirectAnswer)) {
                closeStarted();
              }
              // Bypass first (the frame side answers pings and closes), then what the relay sees of it.
              emit(toNet, bypass, () -> {
                if (output instanceof FrameHandler.MessagePart part) {
                  onPart(part);
                } else {
                  pullNet();
                }
              });
            } else {
              onPart((FrameHandler.MessagePart) output);
            }
          }

          @Override
          public void onUpstreamFinish() {
            if (parts != null) {
              parts.complete();
              parts = null;
            }
            complete(toUser);
            finishIfDone();
          }

          @Override
          public void onUpstreamFailure(Throwable ex) {
            failStage(ex);
          }
        });
        setHandler(toUser, new AbstractOutHandler() {
          @Override
          public void onPull() {
            // Pulls of fromNet follow what was handed on (emit), one part ahead.
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            // The relay stopped reading: parts are dropped from now on, control frames still flow.
            pullNet();
          }
        });
        setHandler(fromUser, new AbstractInHandler() {
          @Override
          public void onPush() {
            emit(toNet, frameOf(grab(fromUser)), this::pullUser);
          }

          private void pullUser() {
            if (!isClosed(fromUser) && !hasBeenPulled(fromUser)) {
              pull(fromUser);
            }
          }

          @Override
          public void onUpstreamFinish() {
            closeStarted();
            emit(toNet, FrameHandler.UserHandlerCompleted$.MODULE$, () -> {
              userDone = true;
              finishIfDone();
            });
          }

          @Override
          public void onUpstreamFailure(Throwable ex) {
            closeStarted();
            emit(toNet, new FrameHandler.UserHandlerErredOut(ex), () -> {
              userDone = true;
              finishIfDone();
            });
          }
        });
        setHandler(toNet, new AbstractOutHandler() {
          @Override
          public void onPull() {
            // Frames and bypass events are emitted; ticks go only when nothing waits (as Source.tick drops them).
          }
        });
      }

      @Override
      public void preStart() {
        pull(fromNet);
        pull(fromUser);
      }

      /**
       * The frame side waits for the end of a close handshake (pekko-http's FrameOutHandler checks its
       * deadline on each tick): ticks from now on. Not before: it ignores ticks until a close starts, and a
       * timer per socket for its whole life was most of what 10,000 idle sockets cost in CPU (2,000 wake-ups
       * a second at a 5 s close-timeout). A close starts when the relay's side ends or fails, or the frame
       * handler passes a close (the peer's, or its own for a protocol error) as a bypass event.
       */
      private void closeStarted() {
        if (!ticking) {
          ticking = true;
          scheduleAtFixedRate(TICK, closeTimeout, closeTimeout);
        }
      }

      @Override
      public void onTimer(Object key) {
        if (isAvailable(toNet)) {
          push(toNet, WebSocket.Tick$.MODULE$);
        }
      }

      @Override
      public void postStop() {
        if (parts != null) {
          parts.complete();
        }
      }

      private void pullNet() {
        if (!isClosed(fromNet) && !hasBeenPulled(fromNet)) {
          pull(fromNet);
        }
      }

      private void finishIfDone() {
        if (userDone && isClosed(fromNet)) {
          complete(toNet);
        }
      }

      private void onPart(FrameHandler.MessagePart part) {
        if (part instanceof FrameHandler.MessageDataPart data) {
          onData(data);
        } else if (part instanceof FrameHandler.PeerClosed closed) {
          Option<Object> code = closed.code();
          if (code.isDefined() && Protocol.CloseCodes$.MODULE$.isError((Integer) code.get())) {
            failUser(new PeerClosedConnectionException((Integer) code.get(), closed.reason()));
          } else if (inMessage) {
            failUser(new ProtocolException("Truncated message, peer closed connection in the middle of message."));
          } else {
            complete(toUser);
          }
          pullNet();
        } else if (part instanceof FrameHandler.ActivelyCloseWithCode close) {
          Option<Object> code = close.code();
          failUser(code.isDefined() && Protocol.CloseCodes$.MODULE$.isError((Integer) code.get())
              ? new ProtocolException("Closing connection with error code " + code)
              : new IllegalStateException("Regular close from FrameHandler is unexpected"));
          pullNet();
        } else {
          pullNet(); // MessageEnd: the last part was already handled
        }
      }

      private void failUser(Throwable ex) {
        if (parts != null) {
          parts.fail(ex);
          parts = null;
        }
        fail(toUser, ex);
      }

      private void onData(FrameHandler.MessageDataPart data) {
        if (inMessage) {
          Object element = dataOf(data);
          if (data.last()) {
            inMessage = false;
          }
          if (parts == null) {
            pullNet(); // nobody reads this message: dropped
            return;
          }
          if (element == null) {
            if (data.last()) {
              parts.complete();
              parts = null;
            }
            pullNet();
          } else if (parts.isAvailable()) {
            parts.push(element);
            if (data.last()) {
              parts.complete();
              parts = null;
              pullNet();
            }
          } else {
            pending = element;
          }
        } else if (data.last()) {
          if (isClosed(toUser)) {
            pullNet();
          } else {
            emit(toUser, strict(data), this::pullNet);
          }
        } else {
          inMessage = true;
          if (isClosed(toUser)) {
            pullNet();
            return;
          }
          SubSourceOutlet<Object> sub = new SubSourceOutlet<>("MessageFrames.parts");
          sub.setHandler(new AbstractOutHandler() {
            @Override
            public void onPull() {
              if (pending != null) {
                Object element = pending;
                pending = null;
                sub.push(element);
                if (!inMessage && parts == sub) { // that was the last part
                  sub.complete();
                  parts = null;
                  pullNet();
                }
              } else {
                pullNet();
              }
            }

            @Override
            public void onDownstreamFinish(Throwable cause) {
              // The reader gave up on this message (e.g. a timeout): the rest of it is dropped.
              if (parts == sub) {
                parts = null;
                pending = null;
              }
              pullNet();
            }
          });
          parts = sub;
          pending = dataOf(data);
          emit(toUser, streamed(data, sub));
        }
      }
    };
  }
}
