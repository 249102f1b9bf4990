package dev.conduit.fuzz;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.ConnectRequest;
import dev.conduit.hub.grpc.DeliveryAck;
import dev.conduit.hub.grpc.Heartbeat;
import dev.conduit.hub.grpc.StreamRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongFunction;

/**
 * Bad first messages for the hub stream: ack, heartbeat or an empty message before connect; connects
 * for unknown hubs, with timestamps outside the window, with signatures of every wrong shape; random
 * mutations of a valid connect and bytes that are not protobuf at all. Also messages a connected hub
 * may send that mean nothing (acks for unknown ids, absurd status codes, junk heartbeats), which the
 * edge ignores without ending the stream.
 */
final class GrpcMessageCorpus {
  /**
   * One call. Anything that depends on the clock (a connect's timestamp, whether a mutant's timestamp
   * is inside the window) is computed by {@link #at} when the case is sent, never when the corpus is
   * built: the edge checks the window a moment later, and a case built ahead of use drifts toward it.
   *
   * @param firstAt the first message for a send at the given epoch second
   * @param refusal the refusal expected (null: the stream just ends with an error status), or
   *     {@link #CLASSIFY}: decided from the bytes by {@link #classify} at send time
   */
  record GrpcCase(String label, LongFunction<byte[]> firstAt, String refusal) {
    /** The bytes and the expected refusal of this case sent at {@code now} (epoch seconds). */
    Sent at(long now, String hub, String secret) {
      byte[] first = firstAt.apply(now);
      return new Sent(label, first, CLASSIFY.equals(refusal) ? classify(first, hub, secret, now) : refusal);
    }
  }

  /** A case as sent: its bytes and the refusal they must get ({@link #ACCEPTED} / {@link #AMBIGUOUS}: skip). */
  record Sent(String label, byte[] first, String refusal) {
    boolean skipped() {
      return ACCEPTED.equals(refusal) || AMBIGUOUS.equals(refusal);
    }

    @Override
    public String toString() {
      return label + " (" + first.length + " bytes: " + HexFormat.of().formatHex(first, 0, Math.min(first.length, 48))
          + ") expecting " + (refusal == null ? "the stream to end with an error status" : "refusal '" + refusal + "'");
    }
  }

  /** The edge's window (conduit.hub.auth-tolerance); its exact boundary is tested with a clock in HubAuthenticatorTest. */
  static final long WINDOW_SECONDS = 300;
  /**
   * How far outside (or inside) the window a fuzz timestamp stays: the edge reads its clock after the
   * case was built and sent, on a machine of any pace, and second granularity alone eats one second.
   */
  static final long WINDOW_MARGIN_SECONDS = 30;
  private static final long FAR_SECONDS = 86_400;
  static final String CLASSIFY = "(classify at send time)";
  static final String ACCEPTED = "(accepted)";
  static final String AMBIGUOUS = "(within the margin of the window's edge)";

  static final String FIRST_NOT_CONNECT = "first message must be connect";
  static final String UNKNOWN_HUB = "unknown hub";
  static final String OUTSIDE_WINDOW = "timestamp outside allowed window";
  static final String INVALID_SIGNATURE = "invalid signature";

  private GrpcMessageCorpus() {}

  static List<GrpcCase> firstMessages(SplittableRandom random, int count, String hub, String secret) {
    List<GrpcCase> cases = new ArrayList<>();
    // Over max-first-message-bytes (4 KiB): refused from its header with RESOURCE_EXHAUSTED, no connect_response.
    cases.add(new GrpcCase("connect over the size cap", now -> connect("x".repeat(100_000), now, "zz").toByteArray(),
        null));
    cases.add(of("empty message", StreamRequest.getDefaultInstance(), FIRST_NOT_CONNECT));
    cases.add(of("ack first", StreamRequest.newBuilder().setAck(DeliveryAck.newBuilder().setWebhookId("x")
        .setSuccess(true).setStatusCode(200)).build(), FIRST_NOT_CONNECT));
    cases.add(new GrpcCase("heartbeat first", now -> StreamRequest.newBuilder()
        .setHeartbeat(Heartbeat.newBuilder().setTimestamp(now)).build().toByteArray(), FIRST_NOT_CONNECT));
    for (String unknown : List.of("", " ", hub.toUpperCase(), hub + " ", "x".repeat(3_000), "\u00fc\u0000\ud83d\ude00",
        Mutations.randomToken(random, 20))) {
      cases.add(new GrpcCase("unknown hub", now -> connect(unknown, now,
          HubSignature.sign(unknown.isEmpty() ? "x" : unknown, now, secret)).toByteArray(), UNKNOWN_HUB));
    }
    for (long stamp : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE}) {
      cases.add(new GrpcCase("timestamp " + stamp, now -> signedConnect(hub, stamp, secret), OUTSIDE_WINDOW));
    }
    // Relative to the moment of sending: just outside the window (by the margin) and far outside it.
    long outside = WINDOW_SECONDS + WINDOW_MARGIN_SECONDS;
    for (long offset : new long[] {-outside, outside, -86_400, -outside - random.nextInt(1_000_000),
        outside + random.nextInt(1_000_000)}) {
      cases.add(new GrpcCase("timestamp now" + (offset < 0 ? "" : "+") + offset,
          now -> signedConnect(hub, now + offset, secret), OUTSIDE_WINDOW));
    }
    cases.add(new GrpcCase("timestamp in milliseconds", now -> signedConnect(hub, now * 1000, secret), OUTSIDE_WINDOW));
    List<LongFunction<String>> badSignatures = new ArrayList<>(List.of(now -> "", now -> "zz",
        now -> HubSignature.sign(hub, now, secret).toUpperCase().substring(1),
        now -> HubSignature.sign(hub, now, secret) + "00", now -> HubSignature.sign(hub, now, secret).substring(0, 62),
        now -> HubSignature.sign(hub, now, secret + "x"), now -> HubSignature.sign(hub, now + 1, secret),
        now -> HubSignature.sign(hub + "x", now, secret), now -> " " + HubSignature.sign(hub, now, secret),
        now -> HubSignature.sign(hub, now, secret).replace('a', 'g'), now -> "0x" + HubSignature.sign(hub, now, secret)));
    for (int i = 0; i < 8; i++) {
      String hex = HexFormat.of().formatHex(Mutations.randomBytes(random, random.nextInt(64)));
      String ascii = Mutations.randomAscii(random, 1 + random.nextInt(80));
      badSignatures.add(now -> hex);
      badSignatures.add(now -> ascii);
    }
    for (LongFunction<String> signature : badSignatures) {
      cases.add(new GrpcCase("bad signature", now -> connect(hub, now, signature.apply(now)).toByteArray(),
          INVALID_SIGNATURE));
    }
    // Random mutations of a valid connect's bytes, and random bytes: classified by what they parse to
    // when they are sent. The mutants are fixed bytes, so their timestamps are absolute; the seed's is
    // the moment the corpus is built.
    byte[] seed = signedConnect(hub, Instant.now().getEpochSecond(), secret);
    for (int i = 0; i < count; i++) {
      byte[] bytes = i % 4 == 3 ? Mutations.randomBytes(random, 1 + random.nextInt(100))
          : Mutations.mutate(random, Mutations.mutate(random, seed));
      cases.add(new GrpcCase(i % 4 == 3 ? "random bytes" : "mutated connect", now -> bytes, CLASSIFY));
    }
    return cases;
  }

  /**
   * The refusal these bytes must get as a first message sent at {@code now} (epoch seconds): null when
   * they are not a StreamRequest at all, {@link #ACCEPTED} for a mutant that is still a valid connect,
   * {@link #AMBIGUOUS} for a timestamp within the margin of the window's edge (callers leave both out).
   */
  static String classify(byte[] bytes, String hub, String secret, long now) {
    StreamRequest request;
    try {
      request = StreamRequest.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
    if (request.getMessageCase() != StreamRequest.MessageCase.CONNECT) {
      return FIRST_NOT_CONNECT;
    }
    ConnectRequest connect = request.getConnect();
    if (!connect.getHubId().equals(hub)) {
      return UNKNOWN_HUB;
    }
    long stamp = connect.getTimestamp();
    // A fuzzed timestamp may be anywhere in the long range: settle the far ones before subtracting.
    if (stamp < now - FAR_SECONDS || stamp > now + FAR_SECONDS) {
      return OUTSIDE_WINDOW;
    }
    long distance = Math.abs(now - stamp);
    if (Math.abs(distance - WINDOW_SECONDS) <= WINDOW_MARGIN_SECONDS) {
      return AMBIGUOUS;
    }
    if (distance > WINDOW_SECONDS) {
      return OUTSIDE_WINDOW;
    }
    return connect.getSignature().equals(HubSignature.sign(hub, connect.getTimestamp(), secret))
        ? ACCEPTED : INVALID_SIGNATURE;
  }

  /** Messages a connected hub may send that refer to nothing; the edge logs and ignores them. */
  static List<StreamRequest> meaningless(SplittableRandom random, int count) {
    List<StreamRequest> messages = new ArrayList<>();
    messages.add(StreamRequest.getDefaultInstance());
    for (int i = 0; i < count; i++) {
      DeliveryAck.Builder ack = DeliveryAck.newBuilder()
          .setWebhookId(i % 3 == 0 ? "" : Mutations.randomAscii(random, 1 + random.nextInt(60)))
          .setSuccess(random.nextBoolean()).setPermanentFailure(random.nextBoolean())
          .setStatusCode(Mutations.pick(random, List.of(0, -1, 999, 1_000_000, Integer.MIN_VALUE, Integer.MAX_VALUE)))
          // Long, but under max-message-bytes (64 KiB); over it the call ends (GrpcMessageLimitTest).
          .setErrorMessage(i % 5 == 0 ? "e".repeat(60_000) : Mutations.randomAscii(random, random.nextInt(30)));
      messages.add(StreamRequest.newBuilder().setAck(ack).build());
      messages.add(StreamRequest.newBuilder().setHeartbeat(Heartbeat.newBuilder()
          .setTimestamp(Mutations.pick(random, List.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, random.nextLong()))))
          .build());
    }
    messages.add(connect("nope", 0, "zz")); // connect again: ignored
    return messages;
  }

  static StreamRequest connect(String hub, long timestamp, String signature) {
    return StreamRequest.newBuilder().setConnect(ConnectRequest.newBuilder().setHubId(hub).setTimestamp(timestamp)
        .setSignature(signature)).build();
  }

  private static byte[] signedConnect(String hub, long timestamp, String secret) {
    return connect(hub, timestamp, HubSignature.sign(hub, timestamp, secret)).toByteArray();
  }

  private static GrpcCase of(String label, StreamRequest request, String refusal) {
    byte[] bytes = request.toByteArray();
    return new GrpcCase(label, now -> bytes, refusal);
  }
}
