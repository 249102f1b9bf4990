package dev.conduit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code conduit --version}: the project version the build wrote into conduit-build.properties. */
public final class ConduitVersion implements IVersionProvider {
  private static final String RESOURCE = "/conduit-build.properties";

  /** The version (e.g. 0.1.0-SNAPSHOT), or "unknown" when the classes were not built by Maven. */
  public static String version() {
    try (InputStream in = ConduitVersion.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return "unknown";
      }
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + RESOURCE, e);
    }
  }

  @Override
  public String[] getVersion() {
    return new String[] {"conduit " + version(), "Java " + Runtime.version()};
  }
}
