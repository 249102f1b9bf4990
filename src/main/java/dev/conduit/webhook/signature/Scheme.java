package dev.conduit.webhook.signature;

/** One provider's way of signing a webhook. {@code secret} is never null or empty here. */
sealed interface Scheme permits StripeScheme, PrefixedHexScheme, SecretTokenScheme, StandardWebhooksScheme {

    VerificationResult verify(String secret, Headers headers, byte[] body);
}
