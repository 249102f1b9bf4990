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

/**
 * Bad first messages for the hub stream: ack, heartbeat or an empty message before connect; connects
 * for unknown hubs, with timestamps outside the window, with signatures of every wrong shape; random
 * mutations of a valid connect and bytes that are not protobuf at all. Also messages a connected hub
 * may send that mean nothing (acks for unknown ids, absurd status codes, junk heartbeats), which the
 * edge ignores without ending the stream.
 */
final class GrpcMessageCorpus {
  /** One call: these bytes as the first message, and the refusal expected (null: the stream just ends). */
  /** How long the corpus may take to run without a future timestamp drifting into the window. */
  private static final long FUTURE_MARGIN_SECONDS = 600;

  record GrpcCase(String label, byte[] first, String refusal) {
    @Override
    public String toString() {
      return label + " (" + first.length + " bytes: " + HexFormat.of().formatHex(first, 0, Math.min(first.length, 48))
          + ") expecting " + (refusal == null ? "the stream to end with an error status" : "refusal '" + refusal + "'");
    }
  }

  static final String FIRST_NOT_CONNECT = "first message must be connect";
  static final String UNKNOWN_HUB = "unknown hub";
  static final String OUTSIDE_WINDOW = "timestamp outside allowed window";
  static final String INVALID_SIGNATURE = "invalid signature";

  private GrpcMessageCorpus() {}

  static List<GrpcCase> firstMessages(SplittableRandom random, int count, String hub, String secret) {
    List<GrpcCase> cases = new ArrayList<>();
    long now = Instant.now().getEpochSecond();
    // Over max-first-message-bytes (4 KiB): refused from its header with RESOURCE_EXHAUSTED, no connect_response.
    cases.add(of("connect over the size cap", connect("x".repeat(100_000), now, "zz"), null));
    cases.add(of("empty message", StreamRequest.getDefaultInstance(), FIRST_NOT_CONNECT));
    cases.add(of("ack first", StreamRequest.newBuilder().setAck(DeliveryAck.newBuilder().setWebhookId("x")
        .setSuccess(true).setStatusCode(200)).build(), FIRST_NOT_CONNECT));
    cases.add(of("heartbeat first", StreamRequest.newBuilder().setHeartbeat(Heartbeat.newBuilder().setTimestamp(now))
        .build(), FIRST_NOT_CONNECT));
    for (String unknown : List.of("", " ", hub.toUpperCase(), hub + " ", "x".repeat(3_000), "\u00fc\u0000\ud83d\ude00",
        Mutations.randomToken(random, 20))) {
      cases.add(of("unknown hub", connect(unknown, now, HubSignature.sign(unknown.isEmpty() ? "x" : unknown, now, secret)),
          UNKNOWN_HUB));
    }
    // Future stamps keep a margin over the 300 s window: the corpus is built before it is sent, and a stamp of
    // now + 301 fell inside the window once a loaded machine took a second to get to it.
    for (long stamp : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, now - 301, now + 301 + FUTURE_MARGIN_SECONDS,
        now - 86_400, now * 1000, now - 301 - random.nextInt(1_000_000),
        now + 301 + FUTURE_MARGIN_SECONDS + random.nextInt(1_000_000)}) {
      cases.add(of("timestamp " + stamp, connect(hub, stamp, HubSignature.sign(hub, stamp, secret)), OUTSIDE_WINDOW));
    }
    String valid = HubSignature.sign(hub, now, secret);
    List<String> badSignatures = new ArrayList<>(List.of("", "zz", valid.toUpperCase().substring(1), valid + "00",
        valid.substring(0, 62), HubSignature.sign(hub, now, secret + "x"), HubSignature.sign(hub, now + 1, secret),
        HubSignature.sign(hub + "x", now, secret), " " + valid, valid.replace('a', 'g'), "0x" + valid));
    for (int i = 0; i < 8; i++) {
      badSignatures.add(HexFormat.of().formatHex(Mutations.randomBytes(random, random.nextInt(64))));
      badSignatures.add(Mutations.randomAscii(random, 1 + random.nextInt(80)));
    }
    for (String signature : badSignatures) {
      cases.add(of("bad signature", connect(hub, now, signature), INVALID_SIGNATURE));
    }
    // Random mutations of a valid connect's bytes, and random bytes: classified by what they parse to.
    byte[] seed = connect(hub, now, valid).toByteArray();
    for (int i = 0; i < count; i++) {
      byte[] bytes = i % 4 == 3 ? Mutations.randomBytes(random, 1 + random.nextInt(100))
          : Mutations.mutate(random, Mutations.mutate(random, seed));
      String refusal = classify(bytes, hub, secret);
      if (!"ACCEPTED".equals(refusal)) {
        cases.add(new GrpcCase(i % 4 == 3 ? "random bytes" : "mutated connect", bytes, refusal));
      }
    }
    return cases;
  }

  /**
   * The refusal these bytes must get as a first message: null when they are not a StreamRequest at
   * all, "ACCEPTED" for a mutant that is still a valid connect (callers leave those out).
   */
  static String classify(byte[] bytes, String hub, String secret) {
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
    if (Math.abs(Instant.now().getEpochSecond() - connect.getTimestamp()) > 300) {
      return OUTSIDE_WINDOW;
    }
    return connect.getSignature().equals(HubSignature.sign(hub, connect.getTimestamp(), secret))
        ? "ACCEPTED" : INVALID_SIGNATURE;
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

  private static GrpcCase of(String label, StreamRequest request, String refusal) {
    return new GrpcCase(label, request.toByteArray(), refusal);
  }
}
