package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.conduit.tunnel.RateLimiter;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  private static Optional<InetAddress> ip(String literal) throws Exception {
    return Optional.of(InetAddress.getByName(literal));
  }

  @Test
  void forwardedForIsIgnoredFromUntrustedPeers() throws Exception {
    ClientAddress addresses = new ClientAddress(List.of());
    assertEquals("203.0.113.9", addresses.resolve(ip("203.0.113.9"), Optional.of("1.2.3.4")));
  }

  @Test
  void rightMostUntrustedHopWinsBehindTrustedProxies() throws Exception {
    ClientAddress addresses = new ClientAddress(List.of("10.0.0.0/8", "192.0.2.1"));
    assertEquals("198.51.100.7", addresses.resolve(ip("10.1.2.3"), Optional.of("6.6.6.6, 198.51.100.7, 192.0.2.1")));
    assertEquals("10.1.2.3", addresses.resolve(ip("10.1.2.3"), Optional.empty()));
    // A garbage hop stops the walk at the last trusted address rather than trusting it.
    assertEquals("10.1.2.3", addresses.resolve(ip("10.1.2.3"), Optional.of("evil.example")));
  }

  @Test
  void rateLimiterRefillsOverTime() {
    AtomicLong now = new AtomicLong();
    RateLimiter limiter = new RateLimiter(2, 1.0, now::get);
    assertTrue(limiter.tryAcquire("a"));
    assertTrue(limiter.tryAcquire("a"));
    assertFalse(limiter.tryAcquire("a"));
    assertTrue(limiter.tryAcquire("b"), "buckets are per address");
    now.addAndGet(1_000_000_000L);
    assertTrue(limiter.tryAcquire("a"));
    assertFalse(limiter.tryAcquire("a"));
  }
}
