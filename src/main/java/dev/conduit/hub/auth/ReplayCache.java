package dev.conduit.hub.auth;

import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Remembers accepted signatures until they could no longer pass the timestamp window anyway.
 * Bounded: when full, the entry closest to expiry (the oldest timestamp) goes first, which is the
 * one whose replay window is nearly over. Synchronized, because the check and the insert must be
 * one step when several streams present the same signature at once.
 */
final class ReplayCache {

    record Key(String hubId, String signatureHex) {
    }

    private record Entry(Key key, Instant expiry) {
    }

    private final int maxEntries;
    private final Set<Key> keys = new HashSet<>();
    private final PriorityQueue<Entry> byExpiry = new PriorityQueue<>(Comparator.comparing(Entry::expiry));

    ReplayCache(int maxEntries) {
        if (maxEntries <= 0) {
            throw new IllegalArgumentException("replay cache size must be positive: " + maxEntries);
        }
        this.maxEntries = maxEntries;
    }

    /** Records {@code key} until {@code expiry}; false when it is already recorded (a replay). */
    synchronized boolean firstUse(Key key, Instant expiry, Instant now) {
        evictExpired(now);
        if (keys.contains(key)) {
            return false;
        }
        if (keys.size() >= maxEntries) {
            keys.remove(byExpiry.remove().key());
        }
        keys.add(key);
        byExpiry.add(new Entry(key, expiry));
        return true;
    }

    synchronized int size() {
        return keys.size();
    }

    /** An entry stays while now == expiry, since the window check accepts that instant too. */
    private void evictExpired(Instant now) {
        while (!byExpiry.isEmpty() && byExpiry.peek().expiry().isBefore(now)) {
            keys.remove(byExpiry.remove().key());
        }
    }
}
