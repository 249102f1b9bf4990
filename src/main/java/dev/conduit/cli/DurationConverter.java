package dev.conduit.cli;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A positive duration in the configuration files' syntax ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}),
 * parsed by the configuration library itself so that flags, variables and files read alike.
 */
public final class DurationConverter implements ITypeConverter<Duration> {
  private static final String KEY = "value";

  @Override
  public Duration convert(String value) {
    Duration duration;
    try {
      duration = ConfigFactory.empty().withValue(KEY, ConfigValueFactory.fromAnyRef(value)).getDuration(KEY);
    } catch (ConfigException e) {
      throw new TypeConversionException("'" + value + "' is not a duration (e.g. 500ms, 30s, 5m)");
    }
    if (duration.isZero() || duration.isNegative()) {
      throw new TypeConversionException("'" + value + "' is not a positive duration");
    }
    return duration;
  }
}
