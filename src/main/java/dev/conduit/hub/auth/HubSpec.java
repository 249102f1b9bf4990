package dev.conduit.hub.auth;

import dev.conduit.webhook.EndpointStore;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Parser for the {@code CONDUIT_HUBS} format: {@code id:secret[,id:secret...]}. */
final class HubSpec {

    private HubSpec() {
    }

    /** Error messages name the 1-based entry position (and the id once known), never the secret. */
    static Map<String, String> parse(String spec) {
        Map<String, String> hubs = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) {
            return Collections.unmodifiableMap(hubs);
        }
        String[] entries = spec.split(",", -1);
        for (int i = 0; i < entries.length; i++) {
            int position = i + 1;
            String entry = entries[i].strip();
            // Split at the first ':' only; secrets may contain ':'.
            int colon = entry.indexOf(':');
            if (colon < 0) {
                throw malformed(position, "expected id:secret");
            }
            String id = entry.substring(0, colon).strip();
            String secret = entry.substring(colon + 1).strip();
            if (id.isEmpty()) {
                throw malformed(position, "hub id is empty");
            }
            if (id.length() > EndpointStore.HUB_ID_LENGTH) {
                // Endpoints store their hub id: a longer one could never be given to an endpoint.
                throw malformed(position, "hub id is longer than " + EndpointStore.HUB_ID_LENGTH + " characters");
            }
            if (secret.isEmpty()) {
                throw malformed(position, "secret for hub '" + id + "' is empty");
            }
            if (hubs.putIfAbsent(id, secret) != null) {
                throw malformed(position, "hub id '" + id + "' is listed twice");
            }
        }
        return Collections.unmodifiableMap(hubs);
    }

    private static IllegalArgumentException malformed(int position, String problem) {
        return new IllegalArgumentException("CONDUIT_HUBS entry " + position + " is malformed: " + problem);
    }
}
