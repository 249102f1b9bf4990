package dev.conduit.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The relay's configuration as ConduitServer loads it, overrides included. */
class DatabaseConfigTest {

  @Test
  void anOverrideReachesTheSettingsDerivedFromIt() {
    Config config = DatabaseConfig.loadApplicationConfig(ConfigFactory.parseMap(Map.of(
        "conduit.http.idle-timeout", "7s")));
    assertEquals(Duration.ofSeconds(7), config.getDuration("conduit.http.idle-timeout"));
    // application.conf: pekko.http.server.idle-timeout = ${conduit.http.idle-timeout}
    assertEquals(Duration.ofSeconds(7), config.getDuration("pekko.http.server.idle-timeout"));
  }

  @Test
  void withoutOverridesTheDefaultsHold() {
    Config config = DatabaseConfig.loadApplicationConfig(ConfigFactory.empty());
    assertEquals(config.getDuration("conduit.http.idle-timeout"), config.getDuration("pekko.http.server.idle-timeout"));
  }
}
