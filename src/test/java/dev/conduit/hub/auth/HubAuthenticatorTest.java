package dev.conduit.hub.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.hub.auth.AuthResult.Accepted;
import dev.conduit.hub.auth.AuthResult.Rejected;
import dev.conduit.testing.TestClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class HubAuthenticatorTest {

    private static final Duration TOLERANCE = Duration.ofSeconds(300);
    private static final int CACHE_SIZE = 1_000;
    private static final long NOW = 1_700_000_000L;
    private static final String HUB = "home-1";
    private static final String SECRET = "s3cr3t:with:colons";

    private final TestClock clock = new TestClock(Instant.ofEpochSecond(NOW));
    private final HubAuthenticator auth = authenticator(CACHE_SIZE);

    private HubAuthenticator authenticator(int cacheSize) {
        return new HubAuthenticator(Map.of(HUB, SECRET, "home-2", "other"), clock, TOLERANCE, cacheSize);
    }

    private static Rejected rejected(String reason) {
        return new Rejected(reason);
    }

    @Test
    void signMatchesIndependentComputation() throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(UTF_8), "HmacSHA256"));
        byte[] expected = mac.doFinal((HUB + ":" + NOW).getBytes(UTF_8));
        StringBuilder hex = new StringBuilder();
        for (byte b : expected) {
            hex.append(String.format("%02x", b));
        }
        assertEquals(hex.toString(), HubSignature.sign(HUB, NOW, SECRET));
    }

    @Test
    void accepted() {
        assertEquals(new Accepted(), auth.authenticate(HUB, NOW, HubSignature.sign(HUB, NOW, SECRET)));
    }

    @Test
    void wrongSecret() {
        assertEquals(rejected("invalid signature"), auth.authenticate(HUB, NOW, HubSignature.sign(HUB, NOW, "other")));
    }

    @Test
    void signatureForAnotherHubOrTimestampIsInvalid() {
        assertEquals(rejected("invalid signature"),
                auth.authenticate(HUB, NOW, HubSignature.sign("home-2", NOW, SECRET)));
        assertEquals(rejected("invalid signature"),
                auth.authenticate(HUB, NOW, HubSignature.sign(HUB, NOW - 1, SECRET)));
    }

    @Test
    void malformedOrMissingSignatureIsInvalid() {
        assertEquals(rejected("invalid signature"), auth.authenticate(HUB, NOW, "not-hex"));
        assertEquals(rejected("invalid signature"), auth.authenticate(HUB, NOW, ""));
        assertEquals(rejected("invalid signature"), auth.authenticate(HUB, NOW, null));
    }

    @Test
    void unknownHub() {
        assertEquals(rejected("unknown hub"), auth.authenticate("stranger", NOW, HubSignature.sign("stranger", NOW, SECRET)));
        assertEquals(rejected("unknown hub"), auth.authenticate(null, NOW, "00"));
    }

    @Test
    void timestampWindow() {
        long old = NOW - 301;
        long future = NOW + 301;
        assertEquals(rejected("timestamp outside allowed window"), auth.authenticate(HUB, old, HubSignature.sign(HUB, old, SECRET)));
        assertEquals(rejected("timestamp outside allowed window"),
                auth.authenticate(HUB, future, HubSignature.sign(HUB, future, SECRET)));
        for (long ok : new long[] {NOW - 299, NOW + 299, NOW - 300, NOW + 300}) {
            assertEquals(new Accepted(), auth.authenticate(HUB, ok, HubSignature.sign(HUB, ok, SECRET)), "t=" + ok);
        }
    }

    @Test
    void extremeTimestampsAreOutsideWindowNotAnException() {
        for (long t : new long[] {Long.MIN_VALUE, Long.MAX_VALUE}) {
            assertEquals(rejected("timestamp outside allowed window"), auth.authenticate(HUB, t, "00"));
        }
    }

    @Test
    void checksRunInOrder() {
        // Unknown hub wins over a bad window; a bad window wins over a bad signature.
        assertEquals(rejected("unknown hub"), auth.authenticate("stranger", NOW - 1_000, "zz"));
        assertEquals(rejected("timestamp outside allowed window"), auth.authenticate(HUB, NOW - 1_000, "zz"));
    }

    @Test
    void replayRefused() {
        String sig = HubSignature.sign(HUB, NOW, SECRET);
        assertEquals(new Accepted(), auth.authenticate(HUB, NOW, sig));
        assertEquals(rejected("signature already used"), auth.authenticate(HUB, NOW, sig));
        // Upper-case hex decodes to the same bytes and must not slip past the replay check.
        assertEquals(rejected("signature already used"), auth.authenticate(HUB, NOW, sig.toUpperCase()));
        clock.advance(Duration.ofSeconds(100));
        assertEquals(rejected("signature already used"), auth.authenticate(HUB, NOW, sig));
    }

    @Test
    void replayEntryEvictedOnceWindowHasPassed() {
        String sig = HubSignature.sign(HUB, NOW, SECRET);
        assertEquals(new Accepted(), auth.authenticate(HUB, NOW, sig));
        assertEquals(1, auth.replayCacheSize());

        clock.advance(TOLERANCE.plusSeconds(1));
        // The old signature is now refused by the window, not by the cache...
        assertEquals(rejected("timestamp outside allowed window"), auth.authenticate(HUB, NOW, sig));
        // ...and the next successful authentication purges the expired entry.
        long later = NOW + TOLERANCE.toSeconds() + 1;
        assertEquals(new Accepted(), auth.authenticate(HUB, later, HubSignature.sign(HUB, later, SECRET)));
        assertEquals(1, auth.replayCacheSize());
    }

    @Test
    void fullCacheEvictsOldest() {
        HubAuthenticator small = authenticator(2);
        String oldest = HubSignature.sign(HUB, NOW - 10, SECRET);
        assertEquals(new Accepted(), small.authenticate(HUB, NOW - 10, oldest));
        assertEquals(new Accepted(), small.authenticate(HUB, NOW, HubSignature.sign(HUB, NOW, SECRET)));
        assertEquals(new Accepted(), small.authenticate(HUB, NOW - 5, HubSignature.sign(HUB, NOW - 5, SECRET)));
        assertEquals(2, small.replayCacheSize());
        // The oldest was forgotten to make room; the newer ones are still remembered.
        assertEquals(new Accepted(), small.authenticate(HUB, NOW - 10, oldest));
        assertEquals(rejected("signature already used"), small.authenticate(HUB, NOW, HubSignature.sign(HUB, NOW, SECRET)));
    }

    @Test
    void concurrentReplaysAcceptOnlyOnce() throws Exception {
        int threads = 8;
        String sig = HubSignature.sign(HUB, NOW, SECRET);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<AuthResult>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Callable<AuthResult> task = () -> {
                    start.await();
                    return auth.authenticate(HUB, NOW, sig);
                };
                results.add(pool.submit(task));
            }
            start.countDown();
            int accepted = 0;
            for (Future<AuthResult> result : results) {
                accepted += result.get().isAccepted() ? 1 : 0;
            }
            assertEquals(1, accepted);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void constructorRejectsBadArguments() {
        assertThrows(IllegalArgumentException.class,
                () -> new HubAuthenticator(Map.of(HUB, SECRET), clock, TOLERANCE.negated(), CACHE_SIZE));
        assertThrows(IllegalArgumentException.class,
                () -> new HubAuthenticator(Map.of(HUB, SECRET), clock, TOLERANCE, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new HubAuthenticator(Map.of(HUB, ""), clock, TOLERANCE, CACHE_SIZE));
    }

    @Test
    void parseHubs() {
        assertEquals(Map.of(), HubAuthenticator.parseHubs(""));
        assertEquals(Map.of(), HubAuthenticator.parseHubs("   "));
        assertEquals(Map.of(), HubAuthenticator.parseHubs(null));
        assertEquals(Map.of("a", "one"), HubAuthenticator.parseHubs("a:one"));
        assertEquals(Map.of("a", "one", "b", "t:w:o"), HubAuthenticator.parseHubs(" a : one , b:t:w:o "));
        assertEquals(List.of("z", "a"), List.copyOf(HubAuthenticator.parseHubs("z:1,a:2").keySet()));
    }

    @Test
    void parseHubsRejectsMalformedEntriesWithoutEchoingSecrets() {
        assertParseError("a:one,justASecretValue", "entry 2", "justASecretValue");
        assertParseError("a:one,:hidden", "entry 2", "hidden");
        assertParseError("a:   ", "entry 1", null);
        assertParseError("a:one,,b:two", "entry 2", "two");
        assertParseError("a:one,", "entry 2", "one");
        assertParseError("a:one,a:hidden", "entry 2", "hidden");
    }

    /** Endpoints store their hub id in a VARCHAR(256): a hub id that could never be stored is refused at start-up. */
    @Test
    void hubIdsAreAtMostWhatTheEndpointTableHolds() {
        String longest = "h".repeat(dev.conduit.webhook.EndpointStore.HUB_ID_LENGTH);
        assertEquals(Map.of(longest, "s"), HubAuthenticator.parseHubs(longest + ":s"));
        var e = assertThrows(IllegalArgumentException.class, () -> HubAuthenticator.parseHubs(longest + "h:secretvalue"));
        assertEquals("CONDUIT_HUBS entry 1 is malformed: hub id is longer than 256 characters", e.getMessage());
    }

    private static void assertParseError(String spec, String position, String mustNotContain) {
        var e = assertThrows(IllegalArgumentException.class, () -> HubAuthenticator.parseHubs(spec));
        assertTrue(e.getMessage().contains(position), e.getMessage());
        if (mustNotContain != null) {
            assertFalse(e.getMessage().contains(mustNotContain), e.getMessage());
        }
    }
}
