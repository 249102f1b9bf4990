package dev.conduit.tunnel;

import dev.conduit.persistence.EntityKeeper;
import java.time.Clock;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What every tunnel actor shares: settings, the per-IP rate limiter, metrics, the clock, the registry
 * and the claim codes.
 */
record TunnelContext(TunnelSettings settings, RateLimiter rateLimiter, TunnelMetrics metrics, Clock clock,
                     ActorRef<TunnelRegistry.Command> registry,
                     ActorRef<EntityKeeper.Command<ClaimCode.Command>> claims) {}
