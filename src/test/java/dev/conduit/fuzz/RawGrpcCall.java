package dev.conduit.fuzz;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One call of {@code hookly.v1.RelayService/Stream} with raw bytes as messages (grpc-java's ClientCall
 * with a byte[] marshaller): lets the corpus send bytes that are not a valid StreamRequest at all,
 * inside correct gRPC framing over real HTTP/2.
 */
final class RawGrpcCall implements AutoCloseable {
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  static final MethodDescriptor<byte[], byte[]> STREAM = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName("hookly.v1.RelayService/Stream")
      .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

  private final ClientCall<byte[], byte[]> call;
  private final BlockingQueue<byte[]> responses = new LinkedBlockingQueue<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();

  RawGrpcCall(ManagedChannel channel) {
    call = channel.newCall(STREAM, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        responses.add(message);
        call.request(1);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(1);
  }

  void send(byte[] message) {
    call.sendMessage(message);
  }

  void halfClose() {
    call.halfClose();
  }

  /** The next response message, or null when none arrives within timeout. */
  byte[] receive(Duration timeout) throws InterruptedException {
    return responses.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The status the call ended with, or null when it did not end within timeout. */
  Status awaitClose(Duration timeout) throws Exception {
    try {
      return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      return null;
    }
  }

  @Override
  public void close() {
    if (!closed.isDone()) {
      call.cancel("test done", null);
    }
  }
}
