package dev.conduit.cluster;

import java.util.Locale;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * One INFO line per membership change this node sees ({@code cluster member up node=… members=…},
 * {@code cluster member unreachable node=…}, …): pekko's own cluster log is at WARN (logback.xml), and
 * its INFO lines are many per event.
 */
public final class ClusterEventLog {
  private ClusterEventLog() {}

  public static Behavior<ClusterEvent.ClusterDomainEvent> create() {
    return Behaviors.setup(context -> {
      Cluster cluster = Cluster.get(context.getSystem());
      cluster.subscriptions().tell(Subscribe.create(context.getSelf().narrow(), ClusterEvent.MemberEvent.class));
      cluster.subscriptions().tell(Subscribe.create(context.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
      return Behaviors.receive((ctx, event) -> {
        String what;
        String node;
        if (event instanceof ClusterEvent.MemberEvent member) {
          what = member.member().status().toString().toLowerCase(Locale.ROOT);
          node = member.member().address().toString();
        } else if (event instanceof ClusterEvent.UnreachableMember unreachable) {
          what = "unreachable";
          node = unreachable.member().address().toString();
        } else if (event instanceof ClusterEvent.ReachableMember reachable) {
          what = "reachable again";
          node = reachable.member().address().toString();
        } else {
          return Behaviors.same();
        }
        long members = cluster.state().members().size();
        ctx.getLog().info("cluster member {} node={} members={}", what, node, members);
        return Behaviors.same();
      });
    });
  }
}
