package dev.conduit.tunnel;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The fast path for the frames that carry data ({@code message}, {@code relay_message}): read with
 * Jackson's streaming parser into their few string fields, without building a tree per frame. A frame
 * of any other shape (another field, a non-string value, trailing content, bad JSON) is left to the
 * general decoder, which gives every precise error, so both paths accept and refuse exactly the same.
 */
record DataFrame(String type, String sessionId, String payload) {
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
