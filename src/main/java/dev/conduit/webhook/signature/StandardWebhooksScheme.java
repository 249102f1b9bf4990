package dev.conduit.webhook.signature;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Standard Webhooks (standardwebhooks.com): base64 HMAC-SHA256 over {@code id.timestamp.body},
 * keyed with the base64-decoded secret after its optional {@code whsec_} prefix. The
 * {@code webhook-signature} header lists space-separated {@code v1,<base64>} entries; any match is
 * enough, and other versions (e.g. asymmetric {@code v1a}) are skipped.
 */
record StandardWebhooksScheme(TimestampWindow window) implements Scheme {

    static final String ID_HEADER = "webhook-id";
    static final String TIMESTAMP_HEADER = "webhook-timestamp";
    static final String SIGNATURE_HEADER = "webhook-signature";
    private static final String SECRET_PREFIX = "whsec_";
    private static final String VERSION = "v1";

    @Override
    public VerificationResult verify(String secret, Headers headers, byte[] body) {
        Optional<String> id = headers.get(ID_HEADER);
        Optional<String> timestamp = headers.get(TIMESTAMP_HEADER);
        Optional<String> signature = headers.get(SIGNATURE_HEADER);
        if (id.isEmpty()) {
            return VerificationResult.missingHeader(ID_HEADER);
        }
        if (timestamp.isEmpty()) {
            return VerificationResult.missingHeader(TIMESTAMP_HEADER);
        }
        if (signature.isEmpty()) {
            return VerificationResult.missingHeader(SIGNATURE_HEADER);
        }
        OptionalLong seconds = TimestampWindow.parseSeconds(timestamp.get());
        if (seconds.isEmpty()) {
            return VerificationResult.malformedHeader(TIMESTAMP_HEADER);
        }
        Optional<List<byte[]>> candidates = parseSignatures(signature.get());
        if (candidates.isEmpty()) {
            return VerificationResult.malformedHeader(SIGNATURE_HEADER);
        }
        if (!window.contains(seconds.getAsLong())) {
            return VerificationResult.outsideTolerance();
        }
        Optional<byte[]> key = decodeKey(secret);
        if (key.isEmpty()) {
            return VerificationResult.invalid("endpoint secret is not valid base64");
        }
        byte[] signedPrefix = (id.get() + "." + timestamp.get() + ".").getBytes(UTF_8);
        byte[] expected = Crypto.hmacSha256(key.get(), signedPrefix, body);
        return candidates.get().stream().anyMatch(sig -> Crypto.constantTimeEquals(expected, sig))
                ? VerificationResult.verified()
                : VerificationResult.mismatch();
    }

    /** Empty when an entry lacks a version, a v1 entry is not base64, or no v1 entry exists. */
    private static Optional<List<byte[]>> parseSignatures(String header) {
        List<byte[]> v1 = new ArrayList<>();
        for (String entry : header.split(" ")) {
            if (entry.isEmpty()) {
                continue;
            }
            int comma = entry.indexOf(',');
            if (comma <= 0) {
                return Optional.empty();
            }
            if (!entry.substring(0, comma).equals(VERSION)) {
                continue;
            }
            Optional<byte[]> sig = Crypto.decodeBase64Mac(entry.substring(comma + 1));
            if (sig.isEmpty()) {
                return Optional.empty();
            }
            v1.add(sig.get());
        }
        return v1.isEmpty() ? Optional.empty() : Optional.of(List.copyOf(v1));
    }

    private static Optional<byte[]> decodeKey(String secret) {
        String encoded = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
        // An empty key cannot key an HMAC (SecretKeySpec rejects it).
        return Crypto.decodeBase64(encoded).filter(key -> key.length > 0);
    }
}
