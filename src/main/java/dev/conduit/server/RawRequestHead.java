package dev.conduit.server;

import java.util.List;
import org.apache.pekko.http.javadsl.model.AttributeKey;

/**
 * One HTTP/1.1 request head exactly as it crossed the wire, captured below pekko-http's model (see
 * {@link RequestHeadScanner}): the request line's method and target, and every header line in order,
 * name and value as byte strings (each byte one char U+0000..U+00FF, i.e. read as ISO-8859-1; the value
 * without the whitespace around it). pekko-http re-renders some headers (Content-Type) and joins or
 * decodes others; routes that must forward what was sent read this instead.
 *
 * @param folded a header line was continued with obs-fold (a line starting with SP or HTAB), whose
 *               value cannot be given exactly as one line
 * @param contentLength the Content-Length the head declared, -1 when none
 * @param chunked the head declared Transfer-Encoding: chunked
 */
public record RawRequestHead(String method, String target, List<Field> fields, boolean folded, long contentLength,
                             boolean chunked) {

  /** A header line: name and value as byte strings, as sent. */
  public record Field(String name, String value) {}

  /** What the server knows of a request's raw head; on a request as the attribute {@link #ATTRIBUTE}. */
  public sealed interface Capture permits Captured, NotCaptured {}

  /** The head was captured and belongs to this request (its method and target were checked). */
  public record Captured(RawRequestHead head) implements Capture {}

  /** The connection is no longer followed (reason says why), so this request's head is unknown. */
  public record NotCaptured(String reason) implements Capture {}

  /**
   * Set on every request of a port whose connections are followed (the HTTP/1.1-only public port);
   * absent on HTTP/2 ports, where heads are HPACK-decoded by pekko-http and not captured.
   */
  public static final AttributeKey<Capture> ATTRIBUTE = AttributeKey.create("conduit-raw-request-head", Capture.class);
}
