package dev.conduit.webhook.signature;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.Optional;

/** {@code <header>: <prefix><hex HMAC-SHA256(secret, body)>}, as used by GitHub and generic senders. */
record PrefixedHexScheme(String header, String prefix) implements Scheme {

    static PrefixedHexScheme github() {
        return new PrefixedHexScheme("X-Hub-Signature-256", "sha256=");
    }

    static PrefixedHexScheme generic() {
        return new PrefixedHexScheme("X-Webhook-Signature", "sha256=");
    }

    @Override
    public VerificationResult verify(String secret, Headers headers, byte[] body) {
        Optional<String> value = headers.get(header);
        if (value.isEmpty()) {
            return VerificationResult.missingHeader(header);
        }
        if (!value.get().startsWith(prefix)) {
            return VerificationResult.malformedHeader(header);
        }
        Optional<byte[]> given = Crypto.decodeHexMac(value.get().substring(prefix.length()));
        if (given.isEmpty()) {
            return VerificationResult.malformedHeader(header);
        }
        byte[] expected = Crypto.hmacSha256(secret.getBytes(UTF_8), body);
        return Crypto.constantTimeEquals(expected, given.get())
                ? VerificationResult.verified()
                : VerificationResult.mismatch();
    }
}
