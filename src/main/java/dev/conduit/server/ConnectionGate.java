package dev.conduit.server;

import com.typesafe.config.Config;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one count of open connections, per source address and in total, for every port (public
 * HTTP/WebSocket, gRPC, whichever port gRPC is on) and every kind of connection, before and after a
 * WebSocket upgrade. A connection is admitted at accept time (before a byte is read) or refused and
 * closed at once; admission hands out a {@link Ticket} that is released exactly once when the
 * connection ends.
 *
 * <p>Rules: at most {@code max-per-address} open connections from one address; at most
 * {@code max-total} in all, lowered to the process's open-file limit minus {@code fd-reserve} so the
 * process never runs out of file descriptors (pekko's accept loop spins and logs a stack trace per try
 * when it does). Connections from {@code health-sources} (loopback by default: a container's health
 * check) are exempt from the total cap, so /healthz still answers at the cap; they use the fd reserve.
 * Connections from trusted proxies are exempt from the per-address cap (they carry many clients);
 * behind them, WebSocket clients are counted per forwarded address with {@link #admitForwarded}.
 * Thread-safe. One instance per actor system ({@link #get}).
 */
public final class ConnectionGate implements Extension {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionGate.class);

  /** The admitting connection's ticket, on every request of a plain HTTP/1.1 connection. */
  public static final AttributeKey<Ticket> TICKET = AttributeKey.create("conduit-connection-ticket", Ticket.class);

  private final int maxPerAddress;
  private final int maxTotal;
  private final Predicate<InetAddress> healthSource;
  private final Predicate<InetAddress> trustedProxy;
  private final LogThrottle refusals;
  private final Map<String, Integer> open = new ConcurrentHashMap<>();
  private final AtomicInteger total = new AtomicInteger();
  /** Local ports bound without TLS that speak HTTP/2 (gRPC): a TLS ClientHello there is refused with a log line. */
  private final Set<Integer> plaintextHttp2Ports = ConcurrentHashMap.newKeySet();

  public ConnectionGate(int maxPerAddress, int maxTotal, Predicate<InetAddress> healthSource,
                        Predicate<InetAddress> trustedProxy, LogThrottle refusals) {
    this.maxPerAddress = maxPerAddress;
    this.maxTotal = maxTotal;
    this.healthSource = healthSource;
    this.trustedProxy = trustedProxy;
    this.refusals = refusals;
  }

  /** Why a connection was refused. */
  public enum Refusal { PER_ADDRESS, TOTAL }

  /**
   * An admitted connection's share of the counts, held by the streams that carry it: the HTTP
   * request stream, and after a WebSocket upgrade the WebSocket stream ({@link #retain}). Counted
   * until the last holder releases; a holder that releases twice is a bug, not a double release.
   */
  public final class Ticket {
    private final String address;
    private final boolean countsTotal;
    private final AtomicInteger holders = new AtomicInteger(1);

    private Ticket(String address, boolean countsTotal) {
      this.address = address;
      this.countsTotal = countsTotal;
    }

    public String address() {
      return address;
    }

    /** One more stream carries this connection (a WebSocket after its upgrade). */
    public void retain() {
      if (holders.getAndIncrement() == 0) {
        // The request stream ended before the upgraded stream started: count the connection again
        // (it was admitted already, so no cap applies).
        open.merge(address, 1, Integer::sum);
        if (countsTotal) {
          total.incrementAndGet();
        }
      }
    }

    /** A stream that carried this connection has ended. */
    public void release() {
      if (holders.decrementAndGet() == 0) {
        open.computeIfPresent(address, (k, count) -> count <= 1 ? null : count - 1);
        if (countsTotal) {
          total.decrementAndGet();
        }
      }
    }
  }

  /** A connection from peer at accept time: a ticket, or the refusal (already logged, throttled). */
  public Admission admit(InetAddress peer) {
    String address = peer.getHostAddress();
    boolean perAddressCap = !trustedProxy.test(peer);
    boolean totalCap = !healthSource.test(peer);
    return admit(address, perAddressCap, totalCap, true);
  }

  /**
   * A WebSocket client behind a trusted proxy, by its forwarded address: counted per address only (the
   * proxy's TCP connection already counts towards the total).
   */
  public Admission admitForwarded(String clientAddress) {
    return admit(clientAddress, true, false, false);
  }

  private Admission admit(String address, boolean perAddressCap, boolean totalCap, boolean countsTotal) {
    if (countsTotal) {
      int now = total.incrementAndGet();
      if (totalCap && now > maxTotal) {
        total.decrementAndGet();
        return refused(address, Refusal.TOTAL, maxTotal);
      }
    }
    boolean[] acquired = {false};
    open.compute(address, (k, count) -> {
      int current = count == null ? 0 : count;
      if (perAddressCap && current >= maxPerAddress) {
        return count;
      }
      acquired[0] = true;
      return current + 1;
    });
    if (!acquired[0]) {
      if (countsTotal) {
        total.decrementAndGet();
      }
      return refused(address, Refusal.PER_ADDRESS, maxPerAddress);
    }
    return new Admission(Optional.of(new Ticket(address, countsTotal)), Optional.empty());
  }

  private Admission refused(String address, Refusal reason, int limit) {
    String what = reason == Refusal.TOTAL ? "total" : "per_address";
    refusals.occurrence("refused " + what + " " + address).ifPresent(count ->
        LOG.info("connection refused ip={} reason={} limit={} count={}", address, what, limit, count));
    return new Admission(Optional.empty(), Optional.of(reason));
  }

  /**
   * A bound HTTP/2 port that has no TLS: {@link GateTelemetry} closes connections to it that start a TLS
   * handshake, with a log line. Registered once bound; a port not registered is left alone (a TLS port
   * must never be, so only plaintext ports are registered).
   */
  public void plaintextHttp2Port(int port) {
    plaintextHttp2Ports.add(port);
  }

  public boolean isPlaintextHttp2Port(int port) {
    return plaintextHttp2Ports.contains(port);
  }

  /**
   * A peer began a TLS handshake on a plaintext port: logged at INFO with its address (once per
   * log-interval per address and port, with a count); the caller closes the connection.
   */
  public void tlsOnPlaintextPort(String address, int port) {
    refusals.occurrence("tls " + address + " " + port).ifPresent(count ->
        LOG.info("connection refused ip={} port={} reason=\"TLS handshake on a plaintext port\" count={}", address,
            port, count));
  }

  /** Either a ticket or a refusal. */
  public record Admission(Optional<Ticket> ticket, Optional<Refusal> refusal) {}

  /** Open connections in all (health sources included, forwarded clients not counted twice). */
  public int openTotal() {
    return total.get();
  }

  /** Open connections counted for address. */
  public int openFrom(String address) {
    return open.getOrDefault(address, 0);
  }

  public int maxPerAddress() {
    return maxPerAddress;
  }

  /** The effective total cap (after the fd limit). */
  public int maxTotal() {
    return maxTotal;
  }

  // --- settings and the per-system instance ---

  /** The open-file limit of this process, when the JVM can tell (Unix). */
  public static Optional<Long> fileDescriptorLimit() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return Optional.of(unix.getMaxFileDescriptorCount());
    }
    return Optional.empty();
  }

  /**
   * The total cap: max-total, lowered to fdLimit - fdReserve when the limit is known and lower (never
   * below 1).
   */
  public static int effectiveMaxTotal(int maxTotal, int fdReserve, Optional<Long> fdLimit) {
    return fdLimit.map(limit -> (int) Math.max(1, Math.min(maxTotal, limit - fdReserve))).orElse(maxTotal);
  }

  static ConnectionGate fromConfig(Config config) {
    Config c = config.getConfig("conduit.connections");
    int maxTotal = c.getInt("max-total");
    int reserve = c.getInt("fd-reserve");
    Optional<Long> fdLimit = fileDescriptorLimit();
    int effective = effectiveMaxTotal(maxTotal, reserve, fdLimit);
    if (effective < maxTotal) {
      LOG.warn("open-file limit {} is below max-total connections {} + fd-reserve {}: at most {} connections;"
          + " raise ulimit -n", fdLimit.orElse(-1L), maxTotal, reserve, effective);
    }
    AddressRanges health = new AddressRanges(AddressRanges.split(c.getString("health-sources")));
    AddressRanges proxies = new AddressRanges(AddressRanges.split(config.getString("conduit.tunnel.trusted-proxies")));
    return new ConnectionGate(c.getInt("max-per-address"), effective, health::contains, proxies::contains,
        new LogThrottle(c.getDuration("log-interval"), System::nanoTime));
  }

  /** The actor system's gate, built from conduit.connections on first use. */
  public static ConnectionGate get(org.apache.pekko.actor.ActorSystem system) {
    return Id.INSTANCE.get(system);
  }

  public static ConnectionGate get(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return Id.INSTANCE.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system));
  }

  private static final class Id extends AbstractExtensionId<ConnectionGate> implements ExtensionIdProvider {
    static final Id INSTANCE = new Id();

    @Override
    public Id lookup() {
      return INSTANCE;
    }

    @Override
    public ConnectionGate createExtension(ExtendedActorSystem system) {
      return fromConfig(system.settings().config());
    }
  }
}
