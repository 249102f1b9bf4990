package dev.conduit.server;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.RemoteAddress;

/**
 * Who is on the other end, for per-IP limits. X-Forwarded-For is spoofable, so it is believed only
 * when the TCP peer is a configured trusted proxy, and then the right-most untrusted hop wins.
 */
public final class ClientAddress {
  private final AddressRanges trustedProxies;

  public ClientAddress(List<String> trustedProxies) {
    this.trustedProxies = new AddressRanges(trustedProxies);
  }

  /** The client's IP of an HTTP request (its TCP peer, and X-Forwarded-For from a trusted proxy). */
  public String resolve(HttpRequest request) {
    var peer = request.getAttribute(AttributeKeys.remoteAddress).flatMap(RemoteAddress::getAddress);
    var forwarded = request.getHeader("X-Forwarded-For").map(HttpHeader::value);
    return resolve(peer, forwarded);
  }

  /** The client's IP: peer, or the forwarded address when peer is a trusted proxy. */
  public String resolve(Optional<InetAddress> peer, Optional<String> forwardedFor) {
    if (peer.isEmpty()) {
      return "unknown";
    }
    InetAddress address = peer.get();
    if (!trustedProxies.contains(address) || forwardedFor.isEmpty()) {
      return address.getHostAddress();
    }
    String[] hops = forwardedFor.get().split(",");
    for (int i = hops.length - 1; i >= 0; i--) {
      Optional<InetAddress> hop = AddressRanges.literal(hops[i].trim());
      if (hop.isEmpty()) {
        break;
      }
      if (!trustedProxies.contains(hop.get())) {
        return hop.get().getHostAddress();
      }
      address = hop.get();
    }
    return address.getHostAddress();
  }
}
