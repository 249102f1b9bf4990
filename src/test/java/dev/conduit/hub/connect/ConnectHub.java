package dev.conduit.hub.connect;

import com.connectrpc.BidirectionalStreamInterface;
import com.connectrpc.ConnectException;
import com.connectrpc.Idempotency;
import com.connectrpc.MethodSpec;
import com.connectrpc.ProtocolClientConfig;
import com.connectrpc.RequestCompression;
import com.connectrpc.SerializationStrategy;
import com.connectrpc.StreamType;
import com.connectrpc.compression.GzipCompressionPool;
import com.connectrpc.extensions.GoogleJavaJSONStrategy;
import com.connectrpc.extensions.GoogleJavaProtobufStrategy;
import com.connectrpc.impl.ProtocolClient;
import com.connectrpc.okhttp.ConnectOkHttpClient;
import com.connectrpc.protocols.GETConfiguration;
import com.connectrpc.protocols.NetworkProtocol;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import java.lang.reflect.Method;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import kotlin.coroutines.EmptyCoroutineContext;
import kotlin.jvm.JvmClassMappingKt;
import kotlinx.coroutines.BuildersKt;
import kotlinx.coroutines.channels.ClosedReceiveChannelException;
import kotlinx.coroutines.channels.ReceiveChannel;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;

/**
 * A hub that speaks the Connect protocol through connect-kotlin (a Connect client that is not Conduit's),
 * on OkHttp, driven from Java with connect-kotlin's low-level {@code ProtocolClient.stream} and a
 * hand-written MethodSpec (no generated stubs). Received messages queue up for the test; with autoReply
 * each edge heartbeat is answered with one, as a live hub does.
 */
final class ConnectHub implements AutoCloseable {
  static final String PATH = "hookly.v1.RelayService/Stream";
  private static final Object END_OK = new Object();

  /** How the hub speaks: the codec (connect+json or +proto) and whether it compresses requests with gzip. */
  record Options(boolean json, boolean gzip, Map<String, List<String>> headers) {
    static final Options PROTO = new Options(false, false, Map.of());
    static final Options JSON_GZIP = new Options(true, true, Map.of());
  }

  private final BidirectionalStreamInterface<StreamRequest, StreamResponse> stream;
  private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
  private final List<StreamResponse> received = new CopyOnWriteArrayList<>();
  private final Thread reader;
  private final boolean autoReply;
  private volatile Object end;

  private ConnectHub(BidirectionalStreamInterface<StreamRequest, StreamResponse> stream, boolean autoReply) {
    this.stream = stream;
    this.autoReply = autoReply;
    this.reader = new Thread(this::read, "connect-hub-reader");
    reader.setDaemon(true);
    reader.start();
  }

  /** OkHttp speaking HTTP/2 with prior knowledge on plain http (h2c), as a Connect hub set up for it does. */
  static OkHttpClient.Builder h2c() {
    return new OkHttpClient.Builder().protocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE))
        .readTimeout(Duration.ZERO).writeTimeout(Duration.ZERO).callTimeout(Duration.ZERO);
  }

  /** Opens the stream at baseUrl (http://host:port or https://host:port) and sends first, if any. */
  static ConnectHub open(OkHttpClient http, String baseUrl, Options options, boolean autoReply,
                         List<StreamRequest> first) throws Exception {
    SerializationStrategy strategy = options.json() ? new GoogleJavaJSONStrategy() : new GoogleJavaProtobufStrategy();
    // connect-kotlin's default timeout oracle gives every call 10 s (sent as Connect-Timeout-Ms); a hub's stream
    // has none. Tests that want one send the header themselves.
    ProtocolClientConfig config = new ProtocolClientConfig(baseUrl, strategy, NetworkProtocol.CONNECT,
        options.gzip() ? new RequestCompression(0, GzipCompressionPool.INSTANCE) : null,
        GETConfiguration.Disabled.INSTANCE, List.of(), List.of(GzipCompressionPool.INSTANCE), null, method -> null);
    ProtocolClient client = new ProtocolClient(new ConnectOkHttpClient(http), config);
    MethodSpec<StreamRequest, StreamResponse> spec = new MethodSpec<>(PATH,
        JvmClassMappingKt.getKotlinClass(StreamRequest.class), JvmClassMappingKt.getKotlinClass(StreamResponse.class),
        StreamType.BIDI, Idempotency.UNKNOWN);
    @SuppressWarnings("unchecked")
    BidirectionalStreamInterface<StreamRequest, StreamResponse> stream =
        (BidirectionalStreamInterface<StreamRequest, StreamResponse>) BuildersKt.runBlocking(
            EmptyCoroutineContext.INSTANCE, (scope, continuation) -> client.stream(options.headers(), spec,
                continuation));
    ConnectHub hub = new ConnectHub(stream, autoReply);
    for (StreamRequest request : first) {
      hub.send(request);
    }
    return hub;
  }

  /** Opens the stream and sends a correctly signed connect for this timestamp (distinct ones avoid replays). */
  static ConnectHub connect(OkHttpClient http, String baseUrl, Options options, String hubId, String secret,
                            long timestamp) throws Exception {
    return open(http, baseUrl, options, true, List.of(connect(hubId, timestamp,
        HubSignature.sign(hubId, timestamp, secret))));
  }

  static StreamRequest connect(String hubId, long timestamp, String signature) {
    return StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder().setHubId(hubId)
        .setTimestamp(timestamp).setSignature(signature)).build();
  }

  static StreamRequest ack(String webhookId) {
    return StreamRequest.newBuilder().setAck(DeliveryAck.newBuilder().setWebhookId(webhookId).setSuccess(true)
        .setStatusCode(200)).build();
  }

  static StreamRequest heartbeat() {
    return StreamRequest.newBuilder().setHeartbeat(Heartbeat.newBuilder()
        .setTimestamp(Instant.now().getEpochSecond())).build();
  }

  /**
   * Sends one message. connect-kotlin's send is a Kotlin suspend function returning an inline Result, which
   * Java sees under a mangled name: it is called by reflection.
   */
  void send(StreamRequest request) throws Exception {
    Method send = null;
    for (Method m : BidirectionalStreamInterface.class.getMethods()) {
      if (m.getName().startsWith("send-")) {
        send = m;
      }
    }
    Method method = send;
    Object result = BuildersKt.runBlocking(EmptyCoroutineContext.INSTANCE,
        (scope, continuation) -> invoke(method, request, continuation));
    if (result instanceof kotlin.Result.Failure failure) {
      throw new IllegalStateException("send failed", failure.exception);
    }
  }

  private Object invoke(Method method, StreamRequest request, Object continuation) {
    try {
      return method.invoke(stream, request, continuation);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw new IllegalStateException("send failed", e.getCause());
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The next message from the edge, skipping heartbeats unless wanted; fails on timeout or end of stream. */
  StreamResponse next(Duration timeout, boolean heartbeats) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Object event = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (event == null) {
        throw new AssertionError("nothing from the edge within " + timeout);
      }
      if (!(event instanceof StreamResponse response)) {
        throw new AssertionError("stream ended instead: " + describe(event));
      }
      if (heartbeats || !response.hasHeartbeat()) {
        return response;
      }
    }
  }

  /** Waits for the end, skipping messages; null when it ended without error, else the ConnectException. */
  ConnectException awaitEnd(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Object event = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (event == null) {
        throw new AssertionError("stream not ended within " + timeout);
      }
      if (event == END_OK) {
        return null;
      }
      if (event instanceof ConnectException error) {
        return error;
      }
      if (event instanceof Throwable other) {
        throw new AssertionError("stream failed without a Connect error", other);
      }
    }
  }

  List<StreamResponse> received() {
    return List.copyOf(received);
  }

  private void read() {
    @SuppressWarnings("unchecked")
    ReceiveChannel<StreamResponse> channel = stream.responseChannel();
    try {
      while (true) {
        StreamResponse response = (StreamResponse) BuildersKt.runBlocking(EmptyCoroutineContext.INSTANCE,
            (scope, continuation) -> channel.receive(continuation));
        received.add(response);
        if (autoReply && response.hasHeartbeat()) {
          send(heartbeat());
        }
        events.add(response);
      }
    } catch (ClosedReceiveChannelException closed) {
      end = END_OK;
    } catch (Throwable failure) {
      end = failure;
    }
    events.add(end);
  }

  private static String describe(Object event) {
    return event == END_OK ? "(no error)" : event.toString();
  }

  @Override
  public void close() throws Exception {
    if (!stream.isSendClosed()) {
      BuildersKt.runBlocking(EmptyCoroutineContext.INSTANCE, (scope, continuation) -> stream.sendClose(continuation));
    }
    BuildersKt.runBlocking(EmptyCoroutineContext.INSTANCE, (scope, continuation) -> stream.receiveClose(continuation));
    reader.join(TimeUnit.SECONDS.toMillis(30));
  }
}
