package dev.conduit.tunnel;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * The fast path for the frames that carry data ({@code message}, {@code relay_message}): read with
 * Jackson's streaming parser into their few string fields, without building a tree per frame. A frame
 * of any other shape (another field, a non-string value, trailing content, bad JSON) is left to the
 * general decoder, which gives every precise error, so both paths accept and refuse exactly the same.
 */
record DataFrame(String type, String sessionId, String payload) {
  private static final ByteString MESSAGE_PREFIX = ByteString.fromString("{\"type\":\"message\",\"payload\":\"");
  private static final ByteString RELAY_PREFIX = ByteString.fromString("{\"type\":\"relay_message\",\"session_id\":\"");
  private static final ByteString RELAY_MIDDLE = ByteString.fromString("\",\"payload\":\"");
  private static final ByteString END = ByteString.fromString("\"}");

  /** A relay_message read from bytes: its session id and its payload (validated base64, a slice of the frame). */
  record Relay(String sessionId, ByteString payload) {}

  /**
   * The payload of a client {@code message} frame in the byte layout clients write (JSON.stringify's:
   * {@code {"type":"message","payload":"<base64>"}}, no spaces), as a slice of the frame; else null, and
   * the frame goes the String way. Whatever this accepts, the String decoder accepts the same.
   */
  static ByteString clientPayload(ByteString frame) {
    int start = MESSAGE_PREFIX.size();
    int end = frame.size() - END.size();
    if (end < start) {
      return null;
    }
    byte[] bytes = frame.toArrayUnsafe(); // the frame's own array when compact (WholeFrames makes it so)
    if (!at(bytes, 0, MESSAGE_PREFIX) || !at(bytes, end, END) || !Base64Payload.isValid(bytes, start, end)) {
      return null;
    }
    return frame.slice(start, end);
  }

  /**
   * An instance's {@code relay_message} in the layout {@code {"type":"relay_message","session_id":"<id>",
   * "payload":"<base64>"}} (no spaces), where the id is printable ASCII without quote or backslash (so it
   * reads the same as JSON); else null, and the frame goes the String way.
   */
  static Relay relayMessage(ByteString frame) {
    int idStart = RELAY_PREFIX.size();
    int end = frame.size() - END.size();
    if (end < idStart) {
      return null;
    }
    byte[] bytes = frame.toArrayUnsafe();
    if (!at(bytes, 0, RELAY_PREFIX) || !at(bytes, end, END)) {
      return null;
    }
    int idEnd = idStart;
    while (idEnd < end && plainIdByte(bytes[idEnd])) {
      idEnd++;
    }
    int payloadStart = idEnd + RELAY_MIDDLE.size();
    if (payloadStart > end || !at(bytes, idEnd, RELAY_MIDDLE) || !Base64Payload.isValid(bytes, payloadStart, end)) {
      return null;
    }
    return new Relay(frame.slice(idStart, idEnd).decodeString(StandardCharsets.US_ASCII), frame.slice(payloadStart, end));
  }

  /** True when frame holds expected at offset (which leaves room for it). */
  private static boolean at(byte[] frame, int offset, ByteString expected) {
    for (int i = 0, n = expected.size(); i < n; i++) {
      if (frame[offset + i] != expected.apply(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean plainIdByte(byte b) {
    return b >= 0x20 && b < 0x7f && b != '"' && b != '\\';
  }

  /** Jackson reads a String of more than this many chars through a Reader, in 4K copies; a char[] in place. */
  private static final int MAX_CHARS_READ_FROM_STRING = 32 * 1024;

  /** The frame's fields when it is a flat object of type/session_id/payload strings, else null. */
  static DataFrame read(JsonFactory json, String text) {
    try (JsonParser parser = open(json, text)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      String type = null;
      String sessionId = null;
      String payload = null;
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        if (parser.nextToken() != JsonToken.VALUE_STRING) {
          return null;
        }
        switch (name) {
          case "type" -> type = parser.getText();
          case "session_id" -> sessionId = parser.getText();
          case "payload" -> payload = parser.getText();
          default -> {
            return null;
          }
        }
      }
      return token == JsonToken.END_OBJECT && parser.nextToken() == null ? new DataFrame(type, sessionId, payload) : null;
    } catch (IOException malformed) {
      return null;
    }
  }

  static JsonParser open(JsonFactory json, String text) throws IOException {
    return text.length() > MAX_CHARS_READ_FROM_STRING ? json.createParser(text.toCharArray()) : json.createParser(text);
  }
}
