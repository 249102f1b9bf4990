package dev.conduit.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The relay's cluster settings (cluster.conf), turned into pekko's: seed nodes and contact points are
 * comma-separated strings in conduit.cluster (so one environment variable sets them) and lists in pekko.
 */
public final class ClusterConfig {
  /** The actor system's name: part of every node's address (pekko://conduit@host:port). */
  public static final String SYSTEM_NAME = "conduit";

  private ClusterConfig() {}

  /** cluster.conf, unresolved: the fallback below application overrides and above application.conf. */
  public static Config defaults() {
    return ConfigFactory.parseResources(ClusterConfig.class.getClassLoader(), "cluster.conf");
  }

  /**
   * Adds pekko's seed-nodes, bind hostname and config-discovery endpoints to a resolved config.
   *
   * @throws ConfigException.BadValue when a seed or contact point is not host:port, or a webhook body or
   *                                  tunnel frame could not cross between nodes (max-message-bytes too small)
   */
  public static Config applyTo(Config config) {
    Config cluster = config.getConfig("conduit.cluster");
    List<String> seeds = split(cluster.getString("seed-nodes")).stream()
        .map(seed -> seed.contains("://") ? seed : "pekko://" + SYSTEM_NAME + "@" + hostPort(seed, "seed-nodes")).toList();
    Config applied = config.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(seeds));
    String bindHost = cluster.getString("bind-host");
    if (!bindHost.isBlank()) {
      applied = applied.withValue("pekko.remote.artery.bind.hostname", ConfigValueFactory.fromAnyRef(bindHost))
          .withValue("pekko.management.http.bind-hostname", ConfigValueFactory.fromAnyRef(bindHost));
    }
    List<Map<String, Object>> endpoints = split(cluster.getString("bootstrap.contact-points")).stream()
        .map(point -> {
          String hostPort = hostPort(point, "bootstrap.contact-points");
          int colon = hostPort.lastIndexOf(':');
          return Map.<String, Object>of("host", hostPort.substring(0, colon),
              "port", Integer.parseInt(hostPort.substring(colon + 1)));
        }).toList();
    applied = applied.withValue("pekko.discovery.config.services." + cluster.getString("bootstrap.service-name")
        + ".endpoints", ConfigValueFactory.fromIterable(endpoints));
    checkMessageSize(applied);
    return applied;
  }

  /** Room for what a message carries besides the body or frame (ids, headers, refs). */
  private static final long ENVELOPE_ALLOWANCE_BYTES = 64 * 1024;

  private static void checkMessageSize(Config config) {
    long max = config.getBytes("conduit.cluster.max-message-bytes");
    for (String largest : List.of("conduit.webhook.max-body-bytes", "conduit.tunnel.max-frame-bytes")) {
      if (config.hasPath(largest) && config.getBytes(largest) + ENVELOPE_ALLOWANCE_BYTES > max) {
        throw new ConfigException.BadValue("conduit.cluster.max-message-bytes",
            "must exceed " + largest + " (" + config.getBytes(largest) + ") by " + ENVELOPE_ALLOWANCE_BYTES
                + " bytes, or such a message could not cross between nodes: raise CONDUIT_CLUSTER_MAX_MESSAGE_BYTES");
      }
    }
  }

  private static List<String> split(String list) {
    return Arrays.stream(list.split(",")).map(String::trim).filter(item -> !item.isEmpty()).toList();
  }

  private static String hostPort(String item, String setting) {
    int colon = item.lastIndexOf(':');
    boolean valid = colon > 0 && colon < item.length() - 1 && item.substring(colon + 1).chars().allMatch(Character::isDigit);
    if (!valid) {
      throw new ConfigException.BadValue("conduit.cluster." + setting, "'" + item + "' is not host:port");
    }
    return item;
  }
}
