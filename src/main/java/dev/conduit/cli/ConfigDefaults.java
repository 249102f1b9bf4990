package dev.conduit.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Defaults for a command's options: the option's environment variable when set (its annotated
 * {@code defaultValue = "${env:CONDUIT_...}"}), else the setting named by its {@code descriptionKey} in the
 * loaded configuration (application.conf and the feature files, which read the same variables). So
 * {@code --help} shows the value the command would use, and a bad value from the environment is
 * reported against the option it feeds.
 *
 * <p>Subclasses name the configuration section; picocli instantiates them by their no-argument constructor.
 */
public abstract class ConfigDefaults implements IDefaultValueProvider {
  private final String prefix;
  private Config config;

  /** @param section the configuration path the description keys are relative to ("" for absolute keys) */
  protected ConfigDefaults(String section) {
    this.prefix = section.isEmpty() ? "" : section + ".";
  }

  @Override
  public String defaultValue(ArgSpec argSpec) {
    if (argSpec.defaultValue() != null) {
      return argSpec.defaultValue(); // the environment variable, already interpolated by picocli
    }
    if (!(argSpec instanceof OptionSpec option) || option.descriptionKey().isEmpty()) {
      return null;
    }
    String path = prefix + option.descriptionKey();
    Config loaded = config();
    return loaded.hasPath(path) ? loaded.getString(path) : null;
  }

  private synchronized Config config() {
    if (config == null) {
      config = ConfigFactory.load();
    }
    return config;
  }
}
