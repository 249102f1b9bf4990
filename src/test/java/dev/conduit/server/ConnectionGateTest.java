package dev.conduit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The gate's counting rules, without sockets. */
class ConnectionGateTest {
  private static final AddressRanges HEALTH = new AddressRanges(List.of("203.0.113.9"));
  private static final AddressRanges PROXIES = new AddressRanges(List.of("10.0.0.0/8"));

  private static ConnectionGate gate(int perAddress, int total) {
    return new ConnectionGate(perAddress, total, HEALTH::contains, PROXIES::contains,
        new LogThrottle(Duration.ofSeconds(10), () -> 0L));
  }

  private static InetAddress ip(String literal) {
    return AddressRanges.literal(literal).orElseThrow();
  }

  @Test
  void perAddressCapAndRelease() {
    ConnectionGate gate = gate(2, 100);
    ConnectionGate.Ticket first = gate.admit(ip("192.0.2.1")).ticket().orElseThrow();
    gate.admit(ip("192.0.2.1")).ticket().orElseThrow();
    ConnectionGate.Admission third = gate.admit(ip("192.0.2.1"));
    assertEquals(Optional.of(ConnectionGate.Refusal.PER_ADDRESS), third.refusal());
    assertTrue(gate.admit(ip("192.0.2.2")).ticket().isPresent(), "another address has its own count");
    first.release();
    assertEquals(1, gate.openFrom("192.0.2.1"));
    assertTrue(gate.admit(ip("192.0.2.1")).ticket().isPresent());
    assertEquals(3, gate.openTotal());
  }

  @Test
  void totalCapSparesHealthSourcesButNotTheirPerAddressCap() {
    ConnectionGate gate = gate(2, 2);
    gate.admit(ip("192.0.2.1")).ticket().orElseThrow();
    gate.admit(ip("192.0.2.2")).ticket().orElseThrow();
    assertEquals(Optional.of(ConnectionGate.Refusal.TOTAL), gate.admit(ip("192.0.2.3")).refusal());
    assertTrue(gate.admit(ip("203.0.113.9")).ticket().isPresent());
    assertTrue(gate.admit(ip("203.0.113.9")).ticket().isPresent());
    assertEquals(Optional.of(ConnectionGate.Refusal.PER_ADDRESS), gate.admit(ip("203.0.113.9")).refusal());
    assertEquals(4, gate.openTotal());
  }

  @Test
  void trustedProxiesHaveNoPerAddressCapAndTheirClientsAreCountedByForwardedAddress() {
    ConnectionGate gate = gate(1, 100);
    assertTrue(gate.admit(ip("10.0.0.5")).ticket().isPresent());
    assertTrue(gate.admit(ip("10.0.0.5")).ticket().isPresent());
    ConnectionGate.Ticket client = gate.admitForwarded("198.51.100.7").ticket().orElseThrow();
    assertEquals(Optional.of(ConnectionGate.Refusal.PER_ADDRESS), gate.admitForwarded("198.51.100.7").refusal());
    assertEquals(2, gate.openTotal(), "forwarded clients ride on the proxy's connection in the total");
    client.release();
    assertTrue(gate.admitForwarded("198.51.100.7").ticket().isPresent());
  }

  @Test
  void aTicketRetainedByAnUpgradeCountsUntilItsLastHolderReleases() {
    ConnectionGate gate = gate(5, 100);
    ConnectionGate.Ticket ticket = gate.admit(ip("192.0.2.1")).ticket().orElseThrow();
    ticket.retain();   // the WebSocket stream starts
    ticket.release();  // the request stream ends at the upgrade
    assertEquals(1, gate.openFrom("192.0.2.1"));
    ticket.release();  // the WebSocket closes
    assertEquals(0, gate.openFrom("192.0.2.1"));
    assertEquals(0, gate.openTotal());

    ConnectionGate.Ticket late = gate.admit(ip("192.0.2.1")).ticket().orElseThrow();
    late.release();    // the request stream ended first
    late.retain();     // then the WebSocket started: counted again
    assertEquals(1, gate.openFrom("192.0.2.1"));
    assertEquals(1, gate.openTotal());
    late.release();
    assertEquals(0, gate.openTotal());
  }

  @Test
  void theTotalCapIsLoweredToTheFileLimitMinusTheReserve() {
    assertEquals(744, ConnectionGate.effectiveMaxTotal(65536, 256, Optional.of(1000L)));
    assertEquals(500, ConnectionGate.effectiveMaxTotal(500, 256, Optional.of(1000L)));
    assertEquals(65536, ConnectionGate.effectiveMaxTotal(65536, 256, Optional.empty()));
    assertEquals(1, ConnectionGate.effectiveMaxTotal(65536, 256, Optional.of(100L)));
    assertFalse(ConnectionGate.effectiveMaxTotal(65536, 256, Optional.of(1_000_000L)) != 65536);
  }
}
