package dev.conduit.webhook.signature;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * {@code Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]}: hex HMAC-SHA256(secret, t + "." + body).
 * Several v1 entries appear while a secret is being rolled; any match is enough. As in Stripe's
 * libraries, v0, unknown schemes, items without {@code =} and v1 values that are not a hex HMAC are
 * skipped; the header is malformed only without a single numeric t or without a well-formed v1.
 */
record StripeScheme(TimestampWindow window) implements Scheme {

    static final String HEADER = "Stripe-Signature";

    private record Parsed(String timestamp, long seconds, List<byte[]> signatures) {
    }

    @Override
    public VerificationResult verify(String secret, Headers headers, byte[] body) {
        Optional<String> value = headers.get(HEADER);
        if (value.isEmpty()) {
            return VerificationResult.missingHeader(HEADER);
        }
        Optional<Parsed> parsed = parse(value.get());
        if (parsed.isEmpty()) {
            return VerificationResult.malformedHeader(HEADER);
        }
        if (!window.contains(parsed.get().seconds())) {
            return VerificationResult.outsideTolerance();
        }
        byte[] expected = Crypto.hmacSha256(secret.getBytes(UTF_8),
                (parsed.get().timestamp() + ".").getBytes(UTF_8), body);
        return parsed.get().signatures().stream().anyMatch(sig -> Crypto.constantTimeEquals(expected, sig))
                ? VerificationResult.verified()
                : VerificationResult.mismatch();
    }

    /** Empty when the header lacks a single numeric t or a well-formed v1. */
    private static Optional<Parsed> parse(String header) {
        String timestamp = null;
        List<byte[]> signatures = new ArrayList<>();
        for (String item : header.split(",", -1)) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String value = item.substring(eq + 1).strip();
            switch (item.substring(0, eq).strip()) {
                case "t" -> {
                    if (timestamp != null) {
                        return Optional.empty();
                    }
                    timestamp = value;
                }
                case "v1" -> Crypto.decodeHexMac(value).ifPresent(signatures::add);
                default -> {
                    // v0 (test-mode legacy) and unknown schemes carry no weight.
                }
            }
        }
        if (timestamp == null || signatures.isEmpty()) {
            return Optional.empty();
        }
        OptionalLong seconds = TimestampWindow.parseSeconds(timestamp);
        return seconds.isPresent()
                ? Optional.of(new Parsed(timestamp, seconds.getAsLong(), List.copyOf(signatures)))
                : Optional.empty();
    }
}
