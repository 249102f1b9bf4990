package dev.conduit.webhook.signature;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Case-insensitive header lookup; blank values count as absent. */
record Headers(Map<String, String> values) {

    Optional<String> get(String name) {
        String value = values.get(name.toLowerCase(Locale.ROOT));
        if (value == null) {
            // The caller promises lower-cased keys; fall back to a scan in case one slipped through.
            value = values.entrySet().stream()
                    .filter(e -> name.equalsIgnoreCase(e.getKey()))
                    .map(Map.Entry::getValue)
                    .findFirst()
                    .orElse(null);
        }
        return Optional.ofNullable(value).map(String::strip).filter(v -> !v.isEmpty());
    }
}
