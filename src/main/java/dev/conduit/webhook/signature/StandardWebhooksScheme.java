package dev.conduit.webhook.signature;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Standard Webhooks (standardwebhooks.com): base64 HMAC-SHA256 over {@code id.timestamp.body},
 * keyed with the base64-decoded secret after its optional {@code whsec_} prefix. The
 * {@code webhook-signature} header lists space-separated {@code v1,<base64>} entries; as in the
 * reference libraries, any matching v1 entry is enough and every other entry (other versions such as
 * {@code v1a}/{@code v2}, entries without a comma, v1 values that are not a base64 HMAC) is skipped.
 * Svix sends the same scheme as {@code svix-id}/{@code svix-timestamp}/{@code svix-signature}; like
 * Svix's libraries, that set is used when all three are present, the {@code webhook-*} set otherwise.
 */
record StandardWebhooksScheme(TimestampWindow window) implements Scheme {

    /** The three header names of one naming of the scheme. */
    private record Names(String id, String timestamp, String signature) {

        boolean allPresent(Headers headers) {
            return headers.get(id).isPresent() && headers.get(timestamp).isPresent()
                    && headers.get(signature).isPresent();
        }

        boolean anyPresent(Headers headers) {
            return headers.get(id).isPresent() || headers.get(timestamp).isPresent()
                    || headers.get(signature).isPresent();
        }
    }

    private static final Names STANDARD = new Names("webhook-id", "webhook-timestamp", "webhook-signature");
    private static final Names SVIX = new Names("svix-id", "svix-timestamp", "svix-signature");
    private static final String SECRET_PREFIX = "whsec_";
    private static final String VERSION = "v1";

    @Override
    public VerificationResult verify(String secret, Headers headers, byte[] body) {
        Names names = chooseNames(headers);
        Optional<String> id = headers.get(names.id());
        Optional<String> timestamp = headers.get(names.timestamp());
        Optional<String> signature = headers.get(names.signature());
        if (id.isEmpty()) {
            return VerificationResult.missingHeader(names.id());
        }
        if (timestamp.isEmpty()) {
            return VerificationResult.missingHeader(names.timestamp());
        }
        if (signature.isEmpty()) {
            return VerificationResult.missingHeader(names.signature());
        }
        OptionalLong seconds = TimestampWindow.parseSeconds(timestamp.get());
        if (seconds.isEmpty()) {
            return VerificationResult.malformedHeader(names.timestamp());
        }
        Optional<List<byte[]>> candidates = parseSignatures(signature.get());
        if (candidates.isEmpty()) {
            return VerificationResult.malformedHeader(names.signature());
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

    /**
     * Svix's set when complete; the standard set when any of it is present or nothing is; a partial
     * Svix set otherwise, so that the missing-header reason names what the sender actually uses.
     */
    private static Names chooseNames(Headers headers) {
        if (SVIX.allPresent(headers)) {
            return SVIX;
        }
        return STANDARD.anyPresent(headers) || !SVIX.anyPresent(headers) ? STANDARD : SVIX;
    }

    /**
     * The well-formed v1 signatures; entries of other versions and malformed entries are skipped, as
     * the reference libraries skip them. Empty when no well-formed v1 entry exists.
     */
    private static Optional<List<byte[]>> parseSignatures(String header) {
        List<byte[]> v1 = new ArrayList<>();
        for (String entry : header.split(" ")) {
            int comma = entry.indexOf(',');
            if (comma <= 0 || !entry.substring(0, comma).equals(VERSION)) {
                continue;
            }
            Crypto.decodeBase64Mac(entry.substring(comma + 1)).ifPresent(v1::add);
        }
        return v1.isEmpty() ? Optional.empty() : Optional.of(List.copyOf(v1));
    }

    private static Optional<byte[]> decodeKey(String secret) {
        String encoded = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
        // An empty key cannot key an HMAC (SecretKeySpec rejects it).
        return Crypto.decodeBase64(encoded).filter(key -> key.length > 0);
    }
}
