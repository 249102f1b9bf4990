package dev.conduit.tunnel;

/** The outcome of decoding one frame: the frame, or the error frame to send back and why. */
public sealed interface Decoded<T> {

  record Ok<T>(T frame) implements Decoded<T> {}

  /** reply is the complete JSON error frame, code its error code (a metrics label); reason is for the log line. */
  record Invalid<T>(String reply, String code, String reason) implements Decoded<T> {
    Invalid(Replies.ErrorFrame error, String reason) {
      this(error.text(), error.code(), reason);
    }
  }
}
