package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.RawHttp;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Failed admin logins are throttled per address over real HTTP; other addresses are unaffected. */
class AdminAuthThrottleTest {
  private static final Duration HANG_GUARD = Duration.ofSeconds(30);
  private static final int MAX_FAILURES = 4;
  private static final String TOKEN = "the-right-token";

  @Test
  void wrongTokensAre401ThenTheAddressGets429WhileAnotherAddressStillGetsIn() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, ConfigFactory.parseMap(Map.of(
             "conduit.webhook.admin-token", TOKEN,
             "conduit.webhook.admin-auth.max-failures", MAX_FAILURES,
             // Far longer than the test: the window cannot pass while it runs.
             "conduit.webhook.admin-auth.failure-window", "1h")));
         RawHttp attacker = RawHttp.connect("127.0.0.1", server.port(), HANG_GUARD);
         RawHttp operator = RawHttp.connect("127.0.0.2", server.port(), HANG_GUARD)) {
      long firstFailure = System.nanoTime();
      for (int i = 0; i < MAX_FAILURES; i++) {
        RawHttp.Response response = attacker.get("/api/hubs", "Authorization: Bearer wrong-" + i);
        assertEquals(401, response.status(), "failure " + (i + 1));
        assertEquals("{\"error\":\"unauthorized\",\"message\":\"wrong admin token\"}", response.body());
      }
      RawHttp.Response throttled = attacker.get("/api/hubs", "Authorization: Bearer wrong-again");
      assertEquals(429, throttled.status());
      assertEquals("{\"error\":\"too_many_failures\",\"message\":\"too many failed admin logins from this address,"
          + " retry later\"}", throttled.body());
      // The window runs from the first failure: what is left of the hour, in whole seconds rounded up.
      long elapsedSeconds = Duration.ofNanos(System.nanoTime() - firstFailure).toSeconds();
      long retryAfter = Long.parseLong(throttled.header("Retry-After"));
      assertTrue(retryAfter <= 3600 && retryAfter >= 3600 - elapsedSeconds - 1,
          "Retry-After " + retryAfter + " after " + elapsedSeconds + " s");
      assertEquals(429, attacker.get("/api/hubs", "Authorization: Bearer " + TOKEN).status(),
          "while throttled even the right token is refused from that address");

      RawHttp.Response allowed = operator.get("/api/hubs", "Authorization: Bearer " + TOKEN);
      assertEquals(200, allowed.status());
      assertEquals("{\"hubs\":[]}", allowed.body());
    }
  }
}
