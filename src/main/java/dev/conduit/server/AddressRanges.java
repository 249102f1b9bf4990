package dev.conduit.server;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

/** A list of IP addresses and CIDR ranges ("10.0.0.0/8", "::1"), matched without any DNS lookup. */
public final class AddressRanges {
  private final List<Range> ranges;

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

  /** @throws IllegalArgumentException for an entry that is not an IP literal with an optional valid prefix */
  public AddressRanges(List<String> specs) {
    this.ranges = specs.stream().map(AddressRanges::parseRange).toList();
  }

  /** The entries of a comma-separated setting ("10.0.0.0/8, ::1"), blanks dropped. */
  public static List<String> split(String commaSeparated) {
    return List.of(commaSeparated.split("\\s*,\\s*")).stream().filter(s -> !s.isBlank()).toList();
  }

  public boolean contains(InetAddress address) {
    return ranges.stream().anyMatch(range -> range.contains(address));
  }

  private static Range parseRange(String spec) {
    String[] parts = spec.split("/", 2);
    InetAddress address = literal(parts[0])
        .orElseThrow(() -> new IllegalArgumentException("not an IP address or range: " + spec));
    int bits = address.getAddress().length * 8;
    int prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : bits;
    if (prefix < 0 || prefix > bits) {
      throw new IllegalArgumentException("bad prefix length in address range: " + spec);
    }
    return new Range(new BigInteger(1, address.getAddress()), prefix, bits);
  }

  /** Parses an IP literal without any DNS lookup; empty for anything else. */
  public static Optional<InetAddress> literal(String text) {
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
