package dev.conduit.webhook.signature;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.Optional;
import java.util.regex.Pattern;

/** The sender echoes the shared secret itself in a header (Telegram's {@code secret_token}). */
record SecretTokenScheme(String header, Pattern tokenSyntax) implements Scheme {

    /** Telegram allows 1-256 characters from A-Z, a-z, 0-9, '_' and '-' (Bot API, setWebhook). */
    static SecretTokenScheme telegram() {
        return new SecretTokenScheme("X-Telegram-Bot-Api-Secret-Token", Pattern.compile("[A-Za-z0-9_-]{1,256}"));
    }

    @Override
    public VerificationResult verify(String secret, Headers headers, byte[] body) {
        Optional<String> token = headers.get(header);
        if (token.isEmpty()) {
            return VerificationResult.missingHeader(header);
        }
        if (!tokenSyntax.matcher(token.get()).matches()) {
            return VerificationResult.malformedHeader(header);
        }
        return Crypto.constantTimeEqualsSecret(secret.getBytes(UTF_8), token.get().getBytes(UTF_8))
                ? VerificationResult.verified()
                : VerificationResult.mismatch();
    }
}
