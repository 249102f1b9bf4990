package dev.conduit.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.conduit.server.Json;
import dev.conduit.server.StatusSection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How this node becomes a member, and what it reports about the cluster. Three ways in, by configuration
 * (cluster.conf): bootstrap on (pekko-management finds the other nodes by discovery), seed nodes listed
 * (pekko joins them by itself), or neither: the node joins itself and is a cluster of one. A node is
 * ready (GET /readyz) while it is an Up member; the cluster's members are the "cluster" section of GET
 * /api/status.
 */
public final class ClusterMembership {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterMembership.class);

  /** How the node joins: the value of the status section's "join" field. */
  public enum JoinMode { SELF, SEED_NODES, BOOTSTRAP }

  private final Cluster cluster;
  private final JoinMode mode;

  private ClusterMembership(Cluster cluster, JoinMode mode) {
    this.cluster = cluster;
    this.mode = mode;
  }

  /** Starts joining as configured; returns at once (membership follows asynchronously). */
  public static ClusterMembership join(ActorSystem<?> system) {
    Config config = system.settings().config();
    Cluster cluster = Cluster.get(system);
    JoinMode mode = config.getBoolean("conduit.cluster.bootstrap.enabled") ? JoinMode.BOOTSTRAP
        : config.getStringList("pekko.cluster.seed-nodes").isEmpty() ? JoinMode.SELF : JoinMode.SEED_NODES;
    switch (mode) {
      case SELF -> cluster.manager().tell(Join.create(cluster.selfMember().address()));
      case SEED_NODES -> { } // pekko joins the configured seed nodes when the cluster extension starts
      case BOOTSTRAP -> {
        PekkoManagement.get(system).start();
        ClusterBootstrap.get(system).start();
      }
    }
    LOG.info("cluster joining node={} mode={} seeds={}", cluster.selfMember().address(),
        mode.name().toLowerCase(Locale.ROOT), mode == JoinMode.SEED_NODES
            ? String.join(",", config.getStringList("pekko.cluster.seed-nodes")) : "-");
    return new ClusterMembership(cluster, mode);
  }

  /** This node is an Up member (it serves as part of the cluster; not while joining, leaving or down). */
  public boolean isUp() {
    MemberStatus status = cluster.selfMember().status();
    return status == MemberStatus.up() || status == MemberStatus.weaklyUp();
  }

  /** This node's status in lower case, as pekko names it ("joining", "up", "leaving", "exiting", "removed"...). */
  public String selfStatus() {
    return cluster.selfMember().status().toString().toLowerCase(Locale.ROOT);
  }

  /**
   * The "cluster" section of GET /api/status: {"self": address, "status": this node's status, "join":
   * mode, "leader": address or null, "members": [{"address", "status", "reachable"}] in address order,
   * "unreachable": count}.
   */
  public StatusSection statusSection() {
    return new StatusSection() {
      @Override
      public String name() {
        return "cluster";
      }

      @Override
      public CompletionStage<JsonNode> read() {
        ClusterEvent.CurrentClusterState state = cluster.state();
        ObjectNode section = Json.MAPPER.createObjectNode()
            .put("self", cluster.selfMember().address().toString())
            .put("status", selfStatus())
            .put("join", mode.name().toLowerCase(Locale.ROOT))
            .put("leader", state.getLeader() == null ? null : state.getLeader().toString());
        java.util.Set<Member> unreachable = state.getUnreachable();
        List<Member> members = StreamSupport.stream(state.getMembers().spliterator(), false)
            .sorted(Comparator.comparing(member -> member.address().toString())).toList();
        ArrayNode list = section.putArray("members");
        members.forEach(member -> list.addObject()
            .put("address", member.address().toString())
            .put("status", member.status().toString().toLowerCase(Locale.ROOT))
            .put("reachable", !unreachable.contains(member)));
        section.put("unreachable", unreachable.size());
        return CompletableFuture.completedFuture(section);
      }
    };
  }
}
