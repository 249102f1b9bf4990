package dev.conduit.webhook;

import dev.conduit.cluster.ClusterSerializable;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * Keeps this node's {@link EndpointStore} copy in step with the other nodes': a node that creates,
 * updates or deletes an endpoint publishes its id on a cluster-wide Topic, and every other node reads
 * that endpoint again from the table. Topic delivery is at most once (a node that just joined may not be
 * subscribed yet everywhere), so every refresh-interval the whole copy is read again: a change is seen
 * by every node within one message (milliseconds) as a rule, and within refresh-interval at worst.
 */
public final class EndpointChanges {

  public sealed interface Command {}

  /** endpointId was created, updated or deleted on node origin (its cluster address). */
  public record Changed(String endpointId, String origin) implements Command, ClusterSerializable {}

  private enum Refresh implements Command { INSTANCE }

  private record Reloaded(String what, Throwable failure) implements Command {}

  private static final String TOPIC = "webhook-endpoint-changes";

  private EndpointChanges() {}

  /**
   * Spawns the topic (this node's end of it) under this actor, subscribes, and from then on announces this
   * store's own changes on it.
   *
   * @param self            this node's cluster address (its own announcements are not read back)
   * @param refreshInterval how often the whole copy is read again
   */
  public static Behavior<Command> create(EndpointStore endpoints, String self, Duration refreshInterval) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      ActorRef<Topic.Command<Changed>> topic = context.spawn(Topic.create(Changed.class, TOPIC), "topic");
      topic.tell(Topic.subscribe(context.getSelf().narrow()));
      endpoints.onChange(id -> topic.tell(Topic.publish(new Changed(id, self))));
      timers.startTimerWithFixedDelay(Refresh.INSTANCE, refreshInterval);
      return Behaviors.receive(Command.class)
          .onMessage(Changed.class, changed -> {
            if (!changed.origin().equals(self)) {
              context.getLog().debug("endpoint {} changed on {}: reading it again", changed.endpointId(),
                  changed.origin());
              context.pipeToSelf(endpoints.reload(changed.endpointId()),
                  (endpoint, failure) -> new Reloaded("endpoint " + changed.endpointId(), failure));
            }
            return Behaviors.same();
          })
          .onMessage(Refresh.class, refresh -> {
            context.pipeToSelf(endpoints.reloadAll(), (count, failure) -> new Reloaded("endpoints", failure));
            return Behaviors.same();
          })
          .onMessage(Reloaded.class, reloaded -> {
            if (reloaded.failure() != null) {
              // The next announcement or refresh reads it again.
              context.getLog().warn("cannot read {} again: {}", reloaded.what(), reloaded.failure().toString());
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
