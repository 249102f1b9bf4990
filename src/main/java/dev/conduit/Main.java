package dev.conduit;

import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.client.HubCommand;
import dev.conduit.simulate.Simulator;
import java.util.Arrays;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** Command line: {@code serve} (default), {@code hub ...}, {@code simulate instance|client ...}. */
public final class Main {
  private Main() {}

  /**
   * Futures that Pekko hands out as CompletionStages (Scala's converter) run every callback on the JDK's
   * common pool, and with fewer than 3 CPUs that "pool" starts a new thread per callback, which cost the
   * relay most of its throughput on 2 cores. A pool of at least 2 threads avoids that.
   */
  private static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";
  private static final int MIN_COMMON_POOL_PARALLELISM = 2;

  public static void main(String[] args) throws Exception {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
      System.setProperty(COMMON_POOL_PARALLELISM, Integer.toString(
          Math.max(MIN_COMMON_POOL_PARALLELISM, Runtime.getRuntime().availableProcessors() - 1)));
    }
    // Bind SLF4J to logback before any other thread logs (otherwise SLF4J queues and replays those calls, noisily).
    LoggerFactory.getILoggerFactory();
    String command = args.length == 0 ? "serve" : args[0];
    String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
    switch (command) {
      case "serve" -> serve();
      case "hub" -> System.exit(HubCommand.run(rest));
      case "simulate" -> System.exit(Simulator.run(rest));
      case "help", "--help", "-h" -> usage(0);
      default -> usage(2);
    }
  }

  /**
   * Runs the relay until SIGTERM, the normal way service managers and container runtimes stop it. Left to
   * the JVM, SIGTERM would run Pekko's coordinated shutdown from a shutdown hook and end with status 143;
   * here the same coordinated shutdown runs first and the process exits 0 (1 if it did not finish in time).
   */
  private static void serve() throws Exception {
    ConduitServer server = ConduitServer.start(ConfigFactory.empty());
    Signal.handle(new Signal("TERM"), signal -> {
      LoggerFactory.getLogger(Main.class).info("conduit stopping signal=TERM");
      int status = 0;
      try {
        server.close();
      } catch (Exception e) {
        LoggerFactory.getLogger(Main.class).error("conduit shutdown incomplete: {}", e.toString());
        status = 1;
      }
      System.exit(status);
    });
  }

  private static void usage(int exitCode) {
    System.out.println("""
        usage: java -jar conduit.jar [serve]                 run the relay (configuration: application.conf, CONDUIT_* variables)
               java -jar conduit.jar hub --edge URL --hub-id ID --secret-file FILE
                                                             the home side of the webhook relay (see 'hub --help')
               java -jar conduit.jar simulate instance ...    a simulated instance (see 'simulate --help')
               java -jar conduit.jar simulate client ...      a simulated client""");
    System.exit(exitCode);
  }
}
