package dev.conduit.tunnel;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * What a WebSocket's inbound stream tells the actor that owns the socket. The stream sends the next
 * frame only after the actor acks the previous one, so a busy actor backpressures its socket.
 */
public sealed interface SocketEvent extends InstanceConnection.Command, ClientSession.Command {

  enum Ack { INSTANCE }

  record Opened(ActorRef<Ack> ackTo) implements SocketEvent {}

  record Frame(String text, ActorRef<Ack> ackTo) implements SocketEvent {}

  record FrameTooLarge(long bytes, ActorRef<Ack> ackTo) implements SocketEvent {}

  record Closed() implements SocketEvent {}

  record Failed(Throwable cause) implements SocketEvent {}
}
