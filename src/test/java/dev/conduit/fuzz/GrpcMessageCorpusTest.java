package dev.conduit.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.hub.grpc.StreamRequest;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Regression: the corpus used to compute "now + 301" when it was built; the edge checked it seconds
 * later, saw 299 s and accepted the connect, so FuzzGrpcTest failed on a slow run. Whenever a case is
 * sent, the window verdict it expects must hold with a margin the machine's pace cannot eat.
 */
class GrpcMessageCorpusTest {
  private static final String HUB = "hub";
  private static final String SECRET = "secret";

  @Test
  void windowVerdictsHoldWithAMarginWhenSentLongAfterTheCorpusWasBuilt() throws Exception {
    List<GrpcMessageCorpus.GrpcCase> cases = GrpcMessageCorpus.firstMessages(new SplittableRandom(7), 400, HUB, SECRET);
    long built = Instant.now().getEpochSecond();
    int checked = 0;
    for (long late : new long[] {0, 2, 60, 3_600}) {
      long sentAt = built + late;
      for (GrpcMessageCorpus.GrpcCase c : cases) {
        GrpcMessageCorpus.Sent sent = c.at(sentAt, HUB, SECRET);
        StreamRequest request = parse(sent.first());
        if (request == null || !request.hasConnect() || !request.getConnect().getHubId().equals(HUB)) {
          continue;
        }
        long stamp = request.getConnect().getTimestamp();
        String where = sent + " sent " + late + " s after the corpus was built";
        if (GrpcMessageCorpus.OUTSIDE_WINDOW.equals(sent.refusal())) {
          assertTrue(stamp < sentAt - GrpcMessageCorpus.WINDOW_SECONDS - GrpcMessageCorpus.WINDOW_MARGIN_SECONDS + 1
              || stamp > sentAt + GrpcMessageCorpus.WINDOW_SECONDS + GrpcMessageCorpus.WINDOW_MARGIN_SECONDS - 1, where);
          checked++;
        } else if (GrpcMessageCorpus.INVALID_SIGNATURE.equals(sent.refusal())
            || GrpcMessageCorpus.ACCEPTED.equals(sent.refusal())) {
          assertTrue(Math.abs(sentAt - stamp) < GrpcMessageCorpus.WINDOW_SECONDS - GrpcMessageCorpus.WINDOW_MARGIN_SECONDS,
              where);
          checked++;
        }
      }
    }
    assertTrue(checked > 100, "connects with a window verdict were checked: " + checked);
  }

  private static StreamRequest parse(byte[] bytes) {
    try {
      return StreamRequest.parseFrom(bytes);
    } catch (Exception notProtobuf) {
      return null;
    }
  }
}
