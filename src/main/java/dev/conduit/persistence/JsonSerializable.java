package dev.conduit.persistence;

/** Marker for messages, events and snapshots stored in the journal: serialized as JSON by Jackson. */
public interface JsonSerializable {}
