package dev.conduit.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.CompletionStage;

/** One feature's part of {@code GET /api/status}: a named JSON object. */
public interface StatusSection {

  String name();

  CompletionStage<JsonNode> read();
}
