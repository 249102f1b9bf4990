package dev.conduit.webhook.signature;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class SignatureVerifierTest {

    private static final Duration TOLERANCE = Duration.ofMinutes(5);
    private static final long NOW = 1_700_000_000L;
    private static final byte[] BODY = "{\"id\":\"evt_1\",\"amount\":42}".getBytes(UTF_8);

    private final SignatureVerifier verifier = verifierAt(NOW);

    private static SignatureVerifier verifierAt(long epochSeconds) {
        return new SignatureVerifier(Clock.fixed(Instant.ofEpochSecond(epochSeconds), ZoneOffset.UTC), TOLERANCE);
    }

    /** Independent of the production code: plain JDK Mac. */
    private static byte[] hmac(byte[] key, String prefix, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(prefix.getBytes(UTF_8));
            return mac.doFinal(body);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    private static void assertVerified(VerificationResult result) {
        assertEquals(Verdict.VERIFIED, result.verdict(), result.reason());
    }

    private static void assertInvalid(VerificationResult result, String reasonFragment) {
        assertEquals(Verdict.INVALID, result.verdict(), result.reason());
        assertTrue(result.reason().contains(reasonFragment), result.reason());
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void unsignedWhenEndpointHasNoSecret(Provider provider) {
        assertEquals(Verdict.UNSIGNED, verifier.verify(provider, null, Map.of(), BODY).verdict());
        assertEquals(Verdict.UNSIGNED, verifier.verify(provider, "", Map.of(), BODY).verdict());
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void wireNamesRoundTrip(Provider provider) {
        assertEquals(Optional.of(provider), Provider.fromWireName(provider.wireName()));
    }

    @Test
    void wireNames() {
        assertEquals("standard-webhooks", Provider.STANDARD_WEBHOOKS.wireName());
        assertEquals(Optional.empty(), Provider.fromWireName("STRIPE"));
        assertEquals(Optional.empty(), Provider.fromWireName(null));
    }

    @Nested
    class Stripe {
        private static final String SECRET = "whsec_test_stripe_secret";

        private String header(long t, byte[] body) {
            return "t=" + t + ",v1=" + hex(hmac(SECRET.getBytes(UTF_8), t + ".", body));
        }

        private VerificationResult verify(String header) {
            return verifier.verify(Provider.STRIPE, SECRET, Map.of("stripe-signature", header), BODY);
        }

        @Test
        void valid() {
            assertVerified(verify(header(NOW, BODY)));
        }

        @Test
        void anyV1MayMatchAndV0IsIgnored() {
            String good = header(NOW, BODY).substring(("t=" + NOW + ",").length());
            assertVerified(verify("t=" + NOW + ",v1=" + "00".repeat(32) + "," + good + ",v0=abcd"));
        }

        @Test
        void wrongSignature() {
            assertInvalid(verify(header(NOW, "tampered".getBytes(UTF_8))), "mismatch");
        }

        @Test
        void wrongSecret() {
            String other = "t=" + NOW + ",v1=" + hex(hmac("other".getBytes(UTF_8), NOW + ".", BODY));
            assertInvalid(verify(other), "mismatch");
        }

        @Test
        void missingHeader() {
            assertInvalid(verifier.verify(Provider.STRIPE, SECRET, Map.of(), BODY), "missing Stripe-Signature");
        }

        @ParameterizedTest
        @ValueSource(strings = {"v1=zz", "v1=abc", "v1=" + "00", "v1=", "garbage", "=x"})
        void malformedEntryBesideAValidOneIsSkipped(String malformed) {
            String good = header(NOW, BODY).substring(("t=" + NOW + ",").length());
            assertVerified(verify("t=" + NOW + "," + malformed + "," + good));
            assertVerified(verify("t=" + NOW + "," + good + "," + malformed));
        }

        @Test
        void onlyMalformedV1EntriesBesideAWrongOneIsAMismatch() {
            assertInvalid(verify("t=" + NOW + ",v1=zz,v1=" + "00".repeat(32)), "mismatch");
        }

        @ParameterizedTest
        @ValueSource(strings = {"garbage", "v1=abcd", "t=" + NOW, "t=abc,v1=00", "t=" + NOW + ",v1=xyz",
                "t=" + NOW + ",v1=abc", "t=1,t=2,v1=00"})
        void malformedHeader(String header) {
            assertInvalid(verify(header), "malformed Stripe-Signature");
        }

        @Test
        void timestampTooOld() {
            assertInvalid(verify(header(NOW - TOLERANCE.toSeconds() - 1, BODY)), "timestamp");
        }

        @Test
        void timestampTooFarInFuture() {
            assertInvalid(verify(header(NOW + TOLERANCE.toSeconds() + 1, BODY)), "timestamp");
        }

        @Test
        void timestampAtToleranceEdgeAccepted() {
            assertVerified(verify(header(NOW - TOLERANCE.toSeconds(), BODY)));
            assertVerified(verify(header(NOW + TOLERANCE.toSeconds(), BODY)));
        }
    }

    @Nested
    class GitHub {
        private static final String SECRET = "gh-secret";

        private VerificationResult verify(String secret, Map<String, String> headers, byte[] body) {
            return verifier.verify(Provider.GITHUB, secret, headers, body);
        }

        /** Known-answer vector from GitHub's "Validating webhook deliveries" documentation. */
        @Test
        void publishedExample() {
            var headers = Map.of("x-hub-signature-256",
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
            assertVerified(verify("It's a Secret to Everybody", headers, "Hello, World!".getBytes(UTF_8)));
        }

        @Test
        void valid() {
            String sig = "sha256=" + hex(hmac(SECRET.getBytes(UTF_8), "", BODY));
            assertVerified(verify(SECRET, Map.of("x-hub-signature-256", sig), BODY));
        }

        @Test
        void headerLookupIsCaseInsensitive() {
            String sig = "sha256=" + hex(hmac(SECRET.getBytes(UTF_8), "", BODY));
            assertVerified(verify(SECRET, Map.of("X-Hub-Signature-256", sig), BODY));
        }

        @Test
        void wrongSignature() {
            String sig = "sha256=" + hex(hmac("not-the-secret".getBytes(UTF_8), "", BODY));
            assertInvalid(verify(SECRET, Map.of("x-hub-signature-256", sig), BODY), "mismatch");
        }

        @Test
        void missingHeader() {
            // The legacy SHA-1 header alone is not enough.
            assertInvalid(verify(SECRET, Map.of("x-hub-signature", "sha1=00"), BODY), "missing X-Hub-Signature-256");
        }

        @ParameterizedTest
        @ValueSource(strings = {"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha256=zz",
                "sha256=abc",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e", // 31 bytes
                "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"})
        void malformedHeader(String header) {
            assertInvalid(verify(SECRET, Map.of("x-hub-signature-256", header), BODY), "malformed");
        }
    }

    @Nested
    class Telegram {
        private static final String SECRET = "tg_Secret-Token_123";

        private VerificationResult verify(Map<String, String> headers) {
            return verifier.verify(Provider.TELEGRAM, SECRET, headers, BODY);
        }

        @Test
        void valid() {
            assertVerified(verify(Map.of("x-telegram-bot-api-secret-token", SECRET)));
        }

        @Test
        void wrongToken() {
            assertInvalid(verify(Map.of("x-telegram-bot-api-secret-token", "tg_Secret-Token_124")), "mismatch");
            assertInvalid(verify(Map.of("x-telegram-bot-api-secret-token", "tg")), "mismatch");
        }

        @Test
        void missingHeader() {
            assertInvalid(verify(Map.of()), "missing X-Telegram-Bot-Api-Secret-Token");
            assertInvalid(verify(Map.of("x-telegram-bot-api-secret-token", "  ")), "missing");
        }

        @Test
        void malformedHeader() {
            assertInvalid(verify(Map.of("x-telegram-bot-api-secret-token", "not a token!")), "malformed");
            assertInvalid(verify(Map.of("x-telegram-bot-api-secret-token", "a".repeat(257))), "malformed");
        }
    }

    @Nested
    class Generic {
        private static final String SECRET = "generic-secret";

        private VerificationResult verify(Map<String, String> headers) {
            return verifier.verify(Provider.GENERIC, SECRET, headers, BODY);
        }

        @Test
        void valid() {
            String sig = "sha256=" + hex(hmac(SECRET.getBytes(UTF_8), "", BODY));
            assertVerified(verify(Map.of("x-webhook-signature", sig)));
        }

        @Test
        void wrongSignature() {
            String sig = "sha256=" + hex(hmac(SECRET.getBytes(UTF_8), "", "other".getBytes(UTF_8)));
            assertInvalid(verify(Map.of("x-webhook-signature", sig)), "mismatch");
        }

        @Test
        void missingHeader() {
            String sig = "sha256=" + hex(hmac(SECRET.getBytes(UTF_8), "", BODY));
            assertInvalid(verify(Map.of("x-hub-signature-256", sig)), "missing X-Webhook-Signature");
        }

        @ParameterizedTest
        @ValueSource(strings = {"sha256", "sha256=", "sha256=0g", "md5=00"})
        void malformedHeader(String header) {
            assertInvalid(verify(Map.of("x-webhook-signature", header)), "malformed");
        }
    }

    @Nested
    class StandardWebhooks {
        // Known-answer vector from the standard-webhooks reference library tests (Go, Python):
        // libraries/go/webhook_test.go TestWebhookSign, libraries/python/tests/test_webhooks.py test_sign_function.
        private static final String KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        private static final String KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        private static final long KAT_TIMESTAMP = 1614265330L;
        private static final String KAT_BODY = "{\"test\": 2432232314}";
        private static final String KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

        private static final byte[] KEY = "standard-webhooks-test-key-32byt".getBytes(UTF_8);
        private static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(KEY);
        private static final String ID = "msg_2kXbZ";

        private static Map<String, String> headers(String id, long timestamp, String signature) {
            return Map.of("webhook-id", id, "webhook-timestamp", Long.toString(timestamp),
                    "webhook-signature", signature);
        }

        private static String sign(long timestamp, byte[] body) {
            return "v1," + Base64.getEncoder().encodeToString(hmac(KEY, ID + "." + timestamp + ".", body));
        }

        private VerificationResult verify(String secret, Map<String, String> headers) {
            return verifier.verify(Provider.STANDARD_WEBHOOKS, secret, headers, BODY);
        }

        @Test
        void publishedExample() {
            var result = verifierAt(KAT_TIMESTAMP).verify(Provider.STANDARD_WEBHOOKS, KAT_SECRET,
                    headers(KAT_ID, KAT_TIMESTAMP, KAT_SIGNATURE), KAT_BODY.getBytes(UTF_8));
            assertVerified(result);
        }

        @Test
        void publishedExampleWithoutPrefixAndWithTamperedBody() {
            SignatureVerifier atKatTime = verifierAt(KAT_TIMESTAMP);
            var headers = headers(KAT_ID, KAT_TIMESTAMP, KAT_SIGNATURE);
            String unprefixed = KAT_SECRET.substring("whsec_".length());
            assertVerified(atKatTime.verify(Provider.STANDARD_WEBHOOKS, unprefixed, headers,
                    KAT_BODY.getBytes(UTF_8)));
            assertInvalid(atKatTime.verify(Provider.STANDARD_WEBHOOKS, KAT_SECRET, headers,
                    "{\"test\": 2432232315}".getBytes(UTF_8)), "mismatch");
        }

        @Test
        void valid() {
            assertVerified(verify(SECRET, headers(ID, NOW, sign(NOW, BODY))));
        }

        @Test
        void anyV1AmongSeveralMayMatch() {
            String other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
            String v2 = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
            String list = other + " " + v2 + " " + sign(NOW, BODY) + " " + other;
            assertVerified(verify(SECRET, headers(ID, NOW, list)));
        }

        @Test
        void badV1GoodV1AndV2MixedVerifies() {
            String v2 = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
            assertVerified(verify(SECRET, headers(ID, NOW, "v1,not*base64! " + sign(NOW, BODY) + " " + v2)));
        }

        @ParameterizedTest
        @ValueSource(strings = {"v1,not*base64!", "v1,AAAA", "v1,", "nocomma", ",abc", "v1a,AAAA", "v2,x"})
        void anyMalformedOrForeignEntryIsSkipped(String other) {
            assertVerified(verify(SECRET, headers(ID, NOW, other + " " + sign(NOW, BODY))));
            assertVerified(verify(SECRET, headers(ID, NOW, sign(NOW, BODY) + "  " + other)));
        }

        @Test
        void malformedV1BesideAWrongOneIsAMismatch() {
            String wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
            assertInvalid(verify(SECRET, headers(ID, NOW, "v1,not*base64! " + wrong)), "mismatch");
        }

        @Test
        void svixHeadersAreAliases() {
            var svix = Map.of("svix-id", ID, "svix-timestamp", Long.toString(NOW), "svix-signature", sign(NOW, BODY));
            assertVerified(verify(SECRET, svix));
            assertInvalid(verify(SECRET, Map.of("svix-id", ID, "svix-timestamp", Long.toString(NOW),
                    "svix-signature", sign(NOW, "tampered".getBytes(UTF_8)))), "mismatch");
            assertInvalid(verify(SECRET, Map.of("svix-id", ID, "svix-signature", sign(NOW, BODY))),
                    "missing svix-timestamp");
        }

        @Test
        void completeSvixSetWinsOverWebhookSet() {
            var both = new java.util.HashMap<>(headers("msg_other", NOW, sign(NOW, "x".getBytes(UTF_8))));
            both.putAll(Map.of("svix-id", ID, "svix-timestamp", Long.toString(NOW), "svix-signature", sign(NOW, BODY)));
            assertVerified(verify(SECRET, both));
            // An incomplete Svix set falls back to the complete standard set.
            var standardPlusPartialSvix = new java.util.HashMap<>(headers(ID, NOW, sign(NOW, BODY)));
            standardPlusPartialSvix.put("svix-id", "msg_other");
            assertVerified(verify(SECRET, standardPlusPartialSvix));
        }

        @Test
        void wrongSignature() {
            assertInvalid(verify(SECRET, headers(ID, NOW, sign(NOW, "tampered".getBytes(UTF_8)))), "mismatch");
            // Signed for another message id.
            assertInvalid(verify(SECRET, headers("msg_other", NOW, sign(NOW, BODY))), "mismatch");
        }

        @Test
        void missingHeaders() {
            Map<String, String> all = headers(ID, NOW, sign(NOW, BODY));
            for (String name : all.keySet()) {
                var without = new java.util.HashMap<>(all);
                without.remove(name);
                assertInvalid(verify(SECRET, without), "missing " + name);
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {"g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,not*base64!", "v1,a", "v1,AAAA",
                "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", ",abc"})
        void malformedSignatureHeader(String signature) {
            assertInvalid(verify(SECRET, headers(ID, NOW, signature)), "malformed webhook-signature");
        }

        @Test
        void malformedTimestamp() {
            var headers = Map.of("webhook-id", ID, "webhook-timestamp", "yesterday",
                    "webhook-signature", sign(NOW, BODY));
            assertInvalid(verify(SECRET, headers), "malformed webhook-timestamp");
        }

        @ParameterizedTest
        @ValueSource(strings = {"whsec_not*base64", "whsec_", "%%%"})
        void secretThatIsNotBase64IsInvalidNotAnException(String secret) {
            assertInvalid(verify(secret, headers(ID, NOW, sign(NOW, BODY))), "secret");
        }

        @Test
        void timestampTooOld() {
            long old = NOW - TOLERANCE.toSeconds() - 1;
            assertInvalid(verify(SECRET, headers(ID, old, sign(old, BODY))), "timestamp");
        }

        @Test
        void timestampTooFarInFuture() {
            long future = NOW + TOLERANCE.toSeconds() + 1;
            assertInvalid(verify(SECRET, headers(ID, future, sign(future, BODY))), "timestamp");
        }

        @Test
        void extremeTimestampIsInvalidNotAnException() {
            assertInvalid(verify(SECRET, headers(ID, Long.MAX_VALUE, sign(NOW, BODY))), "timestamp");
        }
    }

    @Test
    void resultIsVerifiedHelper() {
        assertTrue(VerificationResult.verified().isVerified());
        assertFalse(VerificationResult.mismatch().isVerified());
    }
}
