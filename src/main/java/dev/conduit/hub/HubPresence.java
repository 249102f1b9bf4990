package dev.conduit.hub;

import dev.conduit.cluster.ClusterSerializable;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A hub's live connection as the whole cluster knows it: the connection actor (on whichever node the
 * hub is connected to), when it was authenticated, and its version. Versions of one hub id strictly
 * increase from one connection to the next (each is above every version its node had seen for the hub),
 * so the newest connection wins everywhere; the presence map ({@link HubRegistry}) is a Distributed Data
 * LWWMap keyed by hub id whose register timestamps are these versions.
 *
 * @param version epoch milliseconds of the authentication, raised above the previous version when needed
 */
public record HubPresence(ActorRef<HubConnection.Command> connection, Instant since, long version)
    implements ClusterSerializable {

  /** True when this presence beats other (a newer connection of the same hub), or other is null. */
  public boolean newerThan(HubPresence other) {
    return other == null || version > other.version;
  }

  /**
   * This node's view of the presence map: hub id → live connection, read on every offer (no actor hop)
   * and written only by {@link HubRegistry}.
   */
  public static final class View {
    private final Map<String, HubPresence> live = new ConcurrentHashMap<>();

    /** The hub's live connection, or null when it is connected nowhere (as far as this node knows). */
    public HubPresence get(String hubId) {
      return live.get(hubId);
    }

    /** Hub ids connected somewhere in the cluster. */
    public java.util.Set<String> connected() {
      return java.util.Set.copyOf(live.keySet());
    }

    void put(String hubId, HubPresence presence) {
      live.put(hubId, presence);
    }

    void remove(String hubId) {
      live.remove(hubId);
    }

    Map<String, HubPresence> snapshot() {
      return Map.copyOf(live);
    }
  }
}
