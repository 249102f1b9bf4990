package dev.conduit.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * One generated HTTP request and the answer it must get: one of statuses, and when errorCode is set a
 * JSON body {"error": errorCode, "message": …} ("*" for any non-empty code). stored: a 200 ingest
 * whose webhook must then be visible and delivered.
 */
record HttpCase(String label, String method, String path, Map<String, String> headers, byte[] body, boolean chunked,
                Set<Integer> statuses, String errorCode, boolean stored) {

  static HttpCase error(String label, String method, String path, Map<String, String> headers, byte[] body,
                        int status, String code) {
    return new HttpCase(label, method, path, headers, body, false, Set.of(status), code, false);
  }

  HttpCase chunkedBody() {
    return new HttpCase(label + " (chunked)", method, path, headers, body, true, statuses, errorCode, stored);
  }

  @Override
  public String toString() {
    String shown = body == null ? "" : new String(body, StandardCharsets.UTF_8);
    shown = shown.length() > 120 ? shown.substring(0, 120) + "…(" + body.length + " bytes)" : shown;
    String shownPath = path.length() > 120 ? path.substring(0, 120) + "…(" + path.length() + " chars)" : path;
    return label + ": " + method + " " + shownPath + " " + headers + " " + shown + " expecting " + statuses
        + (errorCode == null ? "" : " error=" + errorCode);
  }
}
