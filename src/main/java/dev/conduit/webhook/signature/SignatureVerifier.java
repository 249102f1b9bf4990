package dev.conduit.webhook.signature;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Checks an incoming webhook's signature according to its endpoint's provider. Never throws on
 * sender-controlled input: anything wrong with the request yields {@link Verdict#INVALID}.
 * Thread-safe.
 */
public final class SignatureVerifier {

    private final Scheme stripe;
    private final Scheme github = PrefixedHexScheme.github();
    private final Scheme telegram = SecretTokenScheme.telegram();
    private final Scheme generic = PrefixedHexScheme.generic();
    private final Scheme standardWebhooks;

    /**
     * @param tolerance how far a signed timestamp (Stripe, Standard Webhooks) may be from the clock,
     *                  in either direction; both providers default to five minutes
     */
    public SignatureVerifier(Clock clock, Duration tolerance) {
        TimestampWindow window = new TimestampWindow(clock, tolerance);
        this.stripe = new StripeScheme(window);
        this.standardWebhooks = new StandardWebhooksScheme(window);
    }

    /**
     * @param secretOrNull the endpoint's secret; null or empty means the endpoint is unsigned
     * @param headers      request headers, keys ideally lower-cased (looked up case-insensitively)
     * @param body         the raw request body, exactly as received
     */
    public VerificationResult verify(Provider provider, String secretOrNull, Map<String, String> headers,
                                     byte[] body) {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(body, "body");
        if (secretOrNull == null || secretOrNull.isEmpty()) {
            return VerificationResult.unsigned();
        }
        Scheme scheme = switch (provider) {
            case STRIPE -> stripe;
            case GITHUB -> github;
            case TELEGRAM -> telegram;
            case GENERIC -> generic;
            case STANDARD_WEBHOOKS -> standardWebhooks;
        };
        return scheme.verify(secretOrNull, new Headers(headers), body);
    }
}
