package dev.conduit.server;

import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawRequestURI;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;

/**
 * The raw request heads of one HTTP/1.1 connection, paired with the requests pekko-http parses from the
 * same bytes. {@link #tap} sits on the connection's inbound bytes, before pekko-http's parser, and queues
 * each head as it completes ({@link RequestHeadScanner}); since a head is queued before its bytes are
 * passed on, it is always there when pekko-http emits the request. {@link #claim} (on the request side, in
 * request order) takes the next head and checks that it is this request's: same method, and a request
 * target equal to the one pekko-http read (its Raw-Request-URI header, which the server settings switch
 * on and claim removes). A head that does not match means the two parsers disagree: the connection is
 * no longer followed, and that and every later request get {@link RawRequestHead.NotCaptured}.
 */
public final class RawHeadCapture {
  private final Queue<RawRequestHead> heads = new ConcurrentLinkedQueue<>();
  private final RequestHeadScanner scanner;
  private volatile String lostReason;
  /** Set once a head did not match its request: nothing queued after that can be trusted. */
  private volatile boolean outOfStep;

  /** maxHeadBytes: see {@link RequestHeadScanner}. */
  public RawHeadCapture(int maxHeadBytes) {
    this.scanner = new RequestHeadScanner(maxHeadBytes, new RequestHeadScanner.Listener() {
      @Override
      public void head(RawRequestHead head) {
        heads.add(head);
      }

      @Override
      public void lost(String reason) {
        lostReason = reason;
      }
    });
  }

  /** The connection's inbound bytes, unchanged, read on their way to pekko-http's parser. */
  public Flow<ByteString, ByteString, NotUsed> tap() {
    return Flow.<ByteString>create().map(bytes -> {
      scanner.feed(bytes);
      return bytes;
    });
  }

  /** The request with its head's capture as {@link RawRequestHead#ATTRIBUTE} and no Raw-Request-URI header. */
  public HttpRequest claim(HttpRequest request) {
    Optional<RawRequestURI> rawUri = request.getHeader(RawRequestURI.class);
    HttpRequest stripped = request.removeHeader("Raw-Request-URI");
    RawRequestHead head = outOfStep ? null : heads.poll();
    RawRequestHead.Capture capture;
    if (head == null) {
      String reason = lostReason;
      capture = new RawRequestHead.NotCaptured(reason == null ? "no request head seen" : reason);
    } else if (head.method().equals(request.method().value()) && rawUri.isPresent()
        && head.target().equals(rawUri.get().uri())) {
      capture = new RawRequestHead.Captured(head);
    } else {
      lostReason = "request head out of step with pekko-http's parser";
      outOfStep = true;
      heads.clear();
      capture = new RawRequestHead.NotCaptured(lostReason);
    }
    return stripped.addAttribute(RawRequestHead.ATTRIBUTE, capture);
  }

  /** Why the connection is no longer followed, if it is not. */
  public Optional<String> lostReason() {
    return Optional.ofNullable(lostReason);
  }
}
