package dev.conduit.tunnel;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

/**
 * Who is on the other end, for per-IP limits. X-Forwarded-For is spoofable, so it is believed only
 * when the TCP peer is a configured trusted proxy, and then the right-most untrusted hop wins.
 */
public final class ClientAddress {
  private final List<Range> trustedProxies;

  private record Range(BigInteger network, int prefix, int bits) {
    boolean contains(InetAddress address) {
      byte[] raw = address.getAddress();
      if (raw.length * 8 != bits) {
        return false;
      }
      BigInteger value = new BigInteger(1, raw);
      return value.shiftRight(bits - prefix).equals(network.shiftRight(bits - prefix));
    }
  }

  public ClientAddress(List<String> trustedProxies) {
    this.trustedProxies = trustedProxies.stream().map(ClientAddress::parseRange).toList();
  }

  /** The client's IP: peer, or the forwarded address when peer is a trusted proxy. */
  public String resolve(Optional<InetAddress> peer, Optional<String> forwardedFor) {
    if (peer.isEmpty()) {
      return "unknown";
    }
    InetAddress address = peer.get();
    if (!isTrusted(address) || forwardedFor.isEmpty()) {
      return address.getHostAddress();
    }
    String[] hops = forwardedFor.get().split(",");
    for (int i = hops.length - 1; i >= 0; i--) {
      Optional<InetAddress> hop = literal(hops[i].trim());
      if (hop.isEmpty()) {
        break;
      }
      if (!isTrusted(hop.get())) {
        return hop.get().getHostAddress();
      }
      address = hop.get();
    }
    return address.getHostAddress();
  }

  private boolean isTrusted(InetAddress address) {
    return trustedProxies.stream().anyMatch(range -> range.contains(address));
  }

  private static Range parseRange(String spec) {
    String[] parts = spec.split("/", 2);
    InetAddress address = literal(parts[0])
        .orElseThrow(() -> new IllegalArgumentException("trusted proxy is not an IP address: " + spec));
    int bits = address.getAddress().length * 8;
    int prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : bits;
    if (prefix < 0 || prefix > bits) {
      throw new IllegalArgumentException("bad prefix length in trusted proxy: " + spec);
    }
    return new Range(new BigInteger(1, address.getAddress()), prefix, bits);
  }

  /** Parses an IP literal without any DNS lookup; empty for anything else. */
  private static Optional<InetAddress> literal(String text) {
    boolean looksLikeIp = !text.isEmpty() && text.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':');
    if (!looksLikeIp) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(text));
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }
}
