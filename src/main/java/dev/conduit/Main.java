package dev.conduit;

import dev.conduit.cli.ConduitVersion;
import dev.conduit.hub.client.HubCommand;
import dev.conduit.simulate.SimulateCommand;
import java.io.PrintWriter;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The command line, {@code conduit serve | hub | simulate instance | simulate client} (no arguments: serve).
 * Exit codes: 0 done, 1 failed, 2 bad usage (the message names the option).
 */
@Command(name = "conduit", mixinStandardHelpOptions = true, versionProvider = ConduitVersion.class,
    description = "Relay for instances behind NAT (tunnel) and for webhooks to a private network (hub).",
    subcommands = {ServeCommand.class, HubCommand.class, SimulateCommand.class, HelpCommand.class})
public final class Main implements Runnable {
  @Spec
  private CommandSpec spec;

  /**
   * Futures that Pekko hands out as CompletionStages (Scala's converter) run every callback on the JDK's
   * common pool, and with fewer than 3 CPUs that "pool" starts a new thread per callback, which cost the
   * relay most of its throughput on 2 cores. A pool of at least 2 threads avoids that.
   */
  private static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";
  private static final int MIN_COMMON_POOL_PARALLELISM = 2;

  public static void main(String[] args) {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
      System.setProperty(COMMON_POOL_PARALLELISM, Integer.toString(
          Math.max(MIN_COMMON_POOL_PARALLELISM, Runtime.getRuntime().availableProcessors() - 1)));
    }
    // Bind SLF4J to logback before any other thread logs (otherwise SLF4J queues and replays those calls, noisily).
    LoggerFactory.getILoggerFactory();
    System.exit(commandLine().execute(args.length == 0 ? new String[] {"serve"} : args));
  }

  /** The whole command tree, for main and for tests that run it in this JVM (set its out/err writers). */
  public static CommandLine commandLine() {
    return new CommandLine(new Main()).setParameterExceptionHandler(Main::usageError)
        .setExecutionExceptionHandler(Main::failed);
  }

  /**
   * A command that failed (e.g. the simulator could not reach the relay): one line with the chain of
   * causes, not a stack trace; 1.
   */
  private static int failed(Exception failure, CommandLine command, CommandLine.ParseResult parsed) {
    StringBuilder causes = new StringBuilder(failure.toString());
    for (Throwable cause = failure.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
      causes.append(" <- ").append(cause);
    }
    command.getErr().println("error: " + command.getCommandSpec().qualifiedName() + " failed: " + causes);
    return command.getCommandSpec().exitCodeOnExecutionException();
  }

  /** A usage error: the message (naming the option), suggestions for a misspelt one, where to read more; 2. */
  private static int usageError(ParameterException error, String[] args) {
    CommandLine command = error.getCommandLine();
    PrintWriter err = command.getErr();
    err.println("error: " + error.getMessage());
    UnmatchedArgumentException.printSuggestions(error, err);
    err.println("Run '" + command.getCommandSpec().qualifiedName() + " --help' for its options.");
    return command.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** {@code conduit --some-option} without a command. */
  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing command: serve, hub or simulate");
  }
}
