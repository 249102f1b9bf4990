package dev.conduit.cli;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import sun.misc.Signal;

/**
 * How a long-running command ends. Left to the JVM, SIGTERM (how service managers and container runtimes
 * stop a process) runs Pekko's coordinated shutdown from a shutdown hook and the process ends with status
 * 143; here the command's own graceful stop runs on SIGTERM and the process exits 0 (1 if the stop failed),
 * and a system that ends without being asked is a failure (1).
 */
public final class Sigterm {
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILED = 1;

  /** A graceful stop that returns once everything has ended (or throws if it could not). */
  @FunctionalInterface
  public interface Stop {
    void run() throws Exception;
  }

  private Sigterm() {}

  /**
   * Blocks until SIGTERM has stopped the command (then {@link #EXIT_OK}, or {@link #EXIT_FAILED} when stop
   * threw) or until system terminated by itself ({@link #EXIT_FAILED}). name goes in the log lines
   * ("conduit stopping signal=TERM", "conduit stopped").
   */
  public static int await(ActorSystem<?> system, String name, Stop stop, Logger log)
      throws InterruptedException, ExecutionException {
    Handler handler = new Handler(name, stop, log);
    Signal.handle(new Signal("TERM"), signal -> handler.terminate());
    system.getWhenTerminated().thenRun(handler::terminatedUnasked);
    return handler.exit.get();
  }

  /**
   * The signal's effect, apart from the JVM's signal plumbing. Each SIGTERM runs on a thread of its own,
   * so a second one (an impatient operator, a service manager that repeats it) arrives while the first
   * stop is still draining: it must neither start a second stop nor log the lifecycle line again.
   */
  static final class Handler {
    private final String name;
    private final Stop stop;
    private final Logger log;
    private final AtomicBoolean stopping = new AtomicBoolean();
    final CompletableFuture<Integer> exit = new CompletableFuture<>();

    Handler(String name, Stop stop, Logger log) {
      this.name = name;
      this.stop = stop;
      this.log = log;
    }

    void terminate() {
      if (!stopping.compareAndSet(false, true)) {
        log.info("{} already stopping signal=TERM", name);
        return;
      }
      log.info("{} stopping signal=TERM", name);
      try {
        stop.run();
        log.info("{} stopped", name);
        exit.complete(EXIT_OK);
      } catch (Exception e) {
        log.error("{} shutdown incomplete: {}", name, e.toString());
        exit.complete(EXIT_FAILED);
      }
    }

    void terminatedUnasked() {
      if (!stopping.get()) {
        log.error("{} stopped without being asked to", name);
        exit.complete(EXIT_FAILED);
      }
    }
  }
}
