package dev.conduit.webhook;

import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Wakes every endpoint entity when a node leaves the cluster (crashed and downed, or left gracefully).
 * Endpoint entities are not remembered by sharding: one that lived on that node restarts only at its next
 * message, and an endpoint whose webhooks wait for a retry, or for a hub that is connected elsewhere, may
 * get none for a long time. Waking them all (one message per endpoint, on every node, for each node
 * removed) restarts each wherever its shard now lives, which reads its queue back from the table.
 */
final class EndpointWakeUp {
  private EndpointWakeUp() {}

  static Behavior<ClusterEvent.MemberRemoved> create(Runnable wakeAll) {
    return Behaviors.setup(context -> {
      Cluster cluster = Cluster.get(context.getSystem());
      cluster.subscriptions().tell(Subscribe.create(context.getSelf(), ClusterEvent.MemberRemoved.class));
      return Behaviors.receive((ctx, removed) -> {
        if (removed.member().equals(cluster.selfMember())) {
          // This node's own removal comes at the end of its stop: its region is shutting down, and
          // the wakes would only go to dead letters.
          return Behaviors.same();
        }
        ctx.getLog().info("cluster member removed member={}: waking every endpoint", removed.member().address());
        wakeAll.run();
        return Behaviors.same();
      });
    });
  }
}
