package dev.conduit.persistence;

import com.typesafe.config.Config;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;

/**
 * How long and how many entities of one kind Cluster Sharding keeps in memory on a node: an entity unused for
 * idleTimeout is passivated, and when a new one would make more than maxLive run at once, the least
 * recently used one is passivated first. Read from {@code conduit.entity-idle-timeout} and
 * {@code conduit.entity-max-live} (application.conf; env CONDUIT_ENTITY_IDLE_TIMEOUT,
 * CONDUIT_ENTITY_MAX_LIVE). maxLive bounds what peers who may create entities (key pins, claim codes)
 * can make the relay hold, whatever their number of addresses.
 */
public record EntityLimits(Duration idleTimeout, int maxLive) {
  public EntityLimits {
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("entity idle timeout must be positive: " + idleTimeout);
    }
    if (maxLive < 1) {
      throw new IllegalArgumentException("entity-max-live must be at least 1: " + maxLive);
    }
  }

  /**
   * Cluster Sharding's passivation for these limits: idle entities stop after idleTimeout, and each
   * node's region keeps at most maxLive of one entity type (the least recently used passivated first).
   */
  public ClusterShardingSettings shardingSettings(ActorSystem<?> system) {
    return ClusterShardingSettings.create(system).withPassivationStrategy(
        ClusterShardingSettings.PassivationStrategySettings$.MODULE$.defaults()
            .withIdleEntityPassivation(idleTimeout)
            .withActiveEntityLimit(maxLive)
            .withLeastRecentlyUsedReplacement());
  }

  public static EntityLimits from(Config config) {
    return new EntityLimits(config.getDuration("conduit.entity-idle-timeout"), config.getInt("conduit.entity-max-live"));
  }
}
