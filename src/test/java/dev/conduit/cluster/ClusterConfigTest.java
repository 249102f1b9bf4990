package dev.conduit.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.conduit.persistence.DatabaseConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterConfigTest {

  private static Config load(Map<String, Object> settings) {
    return ClusterConfig.applyTo(DatabaseConfig.loadApplicationConfig(ConfigFactory.parseMap(settings),
        ClusterConfig.defaults()));
  }

  @Test
  void seedNodesGivenAsHostPortBecomeClusterAddresses() {
    Config config = load(Map.of("conduit.cluster.seed-nodes", " 10.0.0.1:25520, pekko://conduit@10.0.0.2:25521 ,"));
    assertEquals(List.of("pekko://conduit@10.0.0.1:25520", "pekko://conduit@10.0.0.2:25521"),
        config.getStringList("pekko.cluster.seed-nodes"));
    assertEquals("cluster", config.getString("pekko.actor.provider"));
  }

  @Test
  void noSeedNodesByDefault() {
    assertEquals(List.of(), load(Map.of()).getStringList("pekko.cluster.seed-nodes"));
  }

  @Test
  void contactPointsFeedConfigDiscovery() {
    Config config = load(Map.of("conduit.cluster.bootstrap.contact-points", "a:8558,b:8559"));
    var endpoints = config.getConfigList("pekko.discovery.config.services.conduit.endpoints");
    assertEquals(2, endpoints.size());
    assertEquals("b", endpoints.get(1).getString("host"));
    assertEquals(8559, endpoints.get(1).getInt("port"));
  }

  @Test
  void aSeedWithoutPortIsRefusedWithTheSettingNamed() {
    ConfigException.BadValue bad = assertThrows(ConfigException.BadValue.class,
        () -> load(Map.of("conduit.cluster.seed-nodes", "10.0.0.1")));
    assertTrue(bad.getMessage().contains("conduit.cluster.seed-nodes"), bad.getMessage());
  }

  @Test
  void aWebhookThatCouldNotCrossBetweenNodesIsRefusedAtStart() {
    ConfigException.BadValue bad = assertThrows(ConfigException.BadValue.class,
        () -> load(Map.of("conduit.webhook.max-body-bytes", 4 * 1024 * 1024)));
    assertTrue(bad.getMessage().contains("CONDUIT_CLUSTER_MAX_MESSAGE_BYTES"), bad.getMessage());
  }
}
