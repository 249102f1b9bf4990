package dev.conduit.tunnel;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * What every tunnel actor of one node shares: settings, the per-IP rate limiter, metrics, the clock, the
 * node's registry, the sharded entities (key pins, claim codes, instance locations) and sockets: the
 * outbound queue of every socket open on this node by its actor, so a session whose two sides are on
 * this node pairs queue to queue (no stream ref, no serialization).
 */
record TunnelContext(TunnelSettings settings, RateLimiter rateLimiter, TunnelMetrics metrics, Clock clock,
                     ActorRef<TunnelRegistry.Command> registry, ClusterSharding sharding,
                     Map<ActorRef<?>, SourceQueueWithComplete<List<Message>>> sockets, Materializer materializer) {

  EntityRef<KeyPin.Command> pin(String instanceId) {
    return sharding.entityRefFor(KeyPin.ENTITY_KEY, instanceId);
  }

  EntityRef<ClaimCode.Command> claim(String code) {
    return sharding.entityRefFor(ClaimCode.ENTITY_KEY, code);
  }

  EntityRef<InstanceLocation.Command> location(String instanceId) {
    return sharding.entityRefFor(InstanceLocation.ENTITY_KEY, instanceId);
  }

  /** This node's queue of the socket actor owns; null when actor is on another node (or gone). */
  SourceQueueWithComplete<List<Message>> localSocket(ActorRef<?> actor) {
    return sockets.get(actor);
  }
}
