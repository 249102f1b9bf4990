package dev.conduit.fuzz;

import java.nio.charset.StandardCharsets;

/** One generated WebSocket message: to which endpoint, its bytes, text or binary, and the expected answer. */
record TunnelCase(String label, Side side, byte[] data, boolean binary, TunnelExpect expect) {
  enum Side { INSTANCE, CLIENT }

  /** The text the relay decodes (a text frame is sent as this string; binary as raw bytes, decoded as UTF-8). */
  String text() {
    return new String(data, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    String shown = text();
    shown = shown.length() > 160 ? shown.substring(0, 160) + "…(" + data.length + " bytes)" : shown;
    return label + " [" + side + (binary ? " binary" : " text") + "] " + shown + " expecting " + expect;
  }
}
