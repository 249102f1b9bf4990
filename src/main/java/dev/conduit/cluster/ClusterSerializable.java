package dev.conduit.cluster;

/**
 * Marks a message that may travel between nodes: serialized with Jackson CBOR (cluster.conf binds it).
 * Every message sent to a sharded entity, or to an actor on another node, implements it; ActorRefs and
 * stream refs inside it are serialized by pekko's Jackson modules. Journal events use
 * {@link dev.conduit.persistence.JsonSerializable} instead (their stored form must not change).
 */
public interface ClusterSerializable {}
