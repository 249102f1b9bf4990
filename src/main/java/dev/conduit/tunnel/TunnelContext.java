package dev.conduit.tunnel;

import java.time.Clock;

/** What every tunnel actor shares: settings, the per-IP rate limiter, metrics and the clock. */
record TunnelContext(TunnelSettings settings, RateLimiter rateLimiter, TunnelMetrics metrics, Clock clock) {}
