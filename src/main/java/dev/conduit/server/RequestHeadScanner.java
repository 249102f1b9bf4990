package dev.conduit.server;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.util.ByteString;

/**
 * Follows one HTTP/1.1 connection's request bytes as pekko-http's parser frames them, and hands over each
 * request head as sent ({@link RawRequestHead}). Heads end at an empty line; bodies are skipped by their
 * framing (Content-Length, or chunked with its trailers), so pipelined requests stay in step. Lines may
 * end in CRLF or a bare LF, as pekko-http (1.3) accepts both.
 *
 * <p>Where pekko-http would refuse the request (a Transfer-Encoding other than a single {@code chunked},
 * chunked with a Content-Length, differing or non-numeric Content-Lengths, a malformed chunk) or could
 * switch protocols (a GET offering a WebSocket upgrade), or a head grows past maxHeadBytes, the scanner
 * stops: {@link Listener#lost} is called once and every later byte is ignored, so the scanner can never
 * be out of step and yet hand over a head. Never alters or holds bytes back: it only reads them.
 */
public final class RequestHeadScanner {
  /** Receives heads in the order their requests arrive, and the end of scanning. */
  public interface Listener {
    void head(RawRequestHead head);

    void lost(String reason);
  }

  private enum State { HEAD, FIXED_BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, TRAILERS, LOST }

  /** Longest chunk-size line (size and extensions) followed; pekko-http's max-chunk-ext-length is 256. */
  private static final int MAX_CHUNK_LINE = 4096;
  private static final byte CR = '\r';
  private static final byte LF = '\n';

  private final int maxHeadBytes;
  private final Listener listener;
  private State state = State.HEAD;
  /** The current head's (or chunk line's, or trailer section's) bytes so far. */
  private byte[] buffer = new byte[256];
  private int length;
  /** Start of the current line in buffer. */
  private int lineStart;
  /** Body or chunk bytes still to skip. */
  private long remaining;

  /** maxHeadBytes: a head (or trailer section) longer than this stops the scan (pekko-http refuses it). */
  public RequestHeadScanner(int maxHeadBytes, Listener listener) {
    this.maxHeadBytes = maxHeadBytes;
    this.listener = listener;
  }

  /** True once the scanner stopped following the connection. */
  public boolean lost() {
    return state == State.LOST;
  }

  /** Reads the next bytes of the connection's request stream. */
  public void feed(ByteString bytes) {
    int i = 0;
    int n = bytes.length();
    while (i < n && state != State.LOST) {
      switch (state) {
        case FIXED_BODY, CHUNK_DATA -> {
          int skip = (int) Math.min(remaining, n - i);
          i += skip;
          remaining -= skip;
          if (remaining == 0) {
            state = state == State.FIXED_BODY ? State.HEAD : State.CHUNK_DATA_END;
            resetBuffer();
          }
        }
        default -> {
          // A line at a time, copied in bulk: this runs on every request's bytes, and a byte at a time
          // through ByteString.apply cost a few percent of the edge's CPU per webhook.
          int limit = state == State.HEAD || state == State.TRAILERS ? maxHeadBytes : MAX_CHUNK_LINE;
          int lf = bytes.indexOf(LF, i);
          int textEnd = lf < 0 ? n : lf;
          if (length + (textEnd - i) > limit) {
            lose("request head over " + maxHeadBytes + " bytes");
            break;
          }
          int end = lf < 0 ? n : lf + 1;
          append(bytes, i, end);
          i = end;
          if (lf >= 0) {
            endOfLine();
          }
        }
      }
    }
  }

  private void endOfLine() {
    int end = length - 1; // the LF
    if (end > lineStart && buffer[end - 1] == CR) {
      end--;
    }
    boolean empty = end == lineStart;
    switch (state) {
      case HEAD -> {
        if (empty && lineStart == 0) {
          resetBuffer(); // an empty line before a request line
        } else if (empty) {
          head();
        } else {
          lineStart = length;
        }
      }
      case CHUNK_SIZE -> chunkSize(end);
      case CHUNK_DATA_END -> {
        if (empty) {
          state = State.CHUNK_SIZE;
          resetBuffer();
        } else {
          lose("chunk data longer than its size");
        }
      }
      case TRAILERS -> {
        if (empty) {
          state = State.HEAD;
          resetBuffer();
        } else {
          lineStart = length;
        }
      }
      default -> throw new IllegalStateException(state.name());
    }
  }

  private void chunkSize(int end) {
    long size = 0;
    int digits = 0;
    for (int i = 0; i < end; i++) {
      int digit = Character.digit(buffer[i], 16);
      if (digit < 0) {
        if (buffer[i] != ';' || digits == 0) {
          lose("malformed chunk size");
          return;
        }
        break;
      }
      if (++digits > 15) {
        lose("chunk size too large");
        return;
      }
      size = size * 16 + digit;
    }
    if (digits == 0) {
      lose("malformed chunk size");
      return;
    }
    resetBuffer();
    if (size == 0) {
      state = State.TRAILERS;
    } else {
      remaining = size;
      state = State.CHUNK_DATA;
    }
  }

  /** The head in buffer is complete (it ends with its empty line). */
  private void head() {
    List<byte[]> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < length; i++) {
      if (buffer[i] == LF) {
        int end = i > start && buffer[i - 1] == CR ? i - 1 : i;
        if (end > start) {
          lines.add(Arrays.copyOfRange(buffer, start, end));
        }
        start = i + 1;
      }
    }
    resetBuffer();
    String[] requestLine = latin1(lines.get(0)).split(" ", -1);
    if (requestLine.length != 3) {
      lose("malformed request line");
      return;
    }
    List<RawRequestHead.Field> fields = new ArrayList<>();
    boolean folded = false;
    for (byte[] line : lines.subList(1, lines.size())) {
      if (line[0] == ' ' || line[0] == '\t') {
        folded = true;
        continue;
      }
      String text = latin1(line);
      int colon = text.indexOf(':');
      if (colon <= 0) {
        lose("header line without a name");
        return;
      }
      fields.add(new RawRequestHead.Field(text.substring(0, colon), trimOws(text.substring(colon + 1))));
    }
    long contentLength = -1;
    int transferEncodings = 0;
    boolean chunked = false;
    boolean websocket = false;
    for (RawRequestHead.Field field : fields) {
      String name = field.name().toLowerCase(Locale.ROOT);
      String value = field.value();
      if (name.equals("content-length")) {
        if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')
            || (contentLength >= 0 && contentLength != Long.parseLong(value))) {
          lose("unusable Content-Length");
          return;
        }
        contentLength = Long.parseLong(value);
      } else if (name.equals("transfer-encoding")) {
        transferEncodings++;
        chunked = value.equalsIgnoreCase("chunked");
      } else if (name.equals("upgrade")) {
        websocket |= value.toLowerCase(Locale.ROOT).contains("websocket");
      }
    }
    if (transferEncodings > 1 || (transferEncodings == 1 && (!chunked || contentLength >= 0))) {
      lose("Transfer-Encoding pekko-http refuses");
      return;
    }
    String method = requestLine[0];
    listener.head(new RawRequestHead(method, requestLine[1], List.copyOf(fields), folded, contentLength, chunked));
    if (websocket && method.equals("GET")) {
      lose("WebSocket upgrade offered");
    } else if (chunked) {
      state = State.CHUNK_SIZE;
    } else if (contentLength > 0) {
      remaining = contentLength;
      state = State.FIXED_BODY;
    }
  }

  private void lose(String reason) {
    state = State.LOST;
    buffer = new byte[0];
    length = 0;
    listener.lost(reason);
  }

  /** Appends bytes[from, to) to buffer. */
  private void append(ByteString bytes, int from, int to) {
    int count = to - from;
    if (length + count > buffer.length) {
      buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + count));
    }
    bytes.slice(from, to).copyToArray(buffer, length, count);
    length += count;
  }

  private void resetBuffer() {
    length = 0;
    lineStart = 0;
  }

  private static String latin1(byte[] bytes) {
    return new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  private static String trimOws(String value) {
    int from = 0;
    int to = value.length();
    while (from < to && (value.charAt(from) == ' ' || value.charAt(from) == '\t')) {
      from++;
    }
    while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
      to--;
    }
    return value.substring(from, to);
  }
}
