package dev.conduit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * The command line run in this JVM (help, version, usage errors: nothing here starts a relay or a hub),
 * and once in a child JVM for what only a real environment shows: options read from their variables.
 */
class CommandLineTest {

  private record Run(int exitCode, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = Main.commandLine();
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exitCode = command.execute(args);
    return new Run(exitCode, out.toString(), err.toString());
  }

  @Test
  void topLevelHelpListsTheCommands() {
    Run help = run("--help");
    assertEquals(0, help.exitCode(), help.err());
    for (String command : List.of("serve", "hub", "simulate")) {
      assertTrue(help.out().contains("  " + command + " "), help.out());
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "serve            | --http-port=PORT    | CONDUIT_HTTP_PORT",
      "hub              | --secret-file=FILE  | CONDUIT_HUB_CLIENT_SECRET_FILE",
      "simulate instance| --private-key=BASE64| CONDUIT_SIMULATE_PRIVATE_KEY",
      "simulate client  | --claim=CODE        | CONDUIT_SIMULATE_CLAIM"})
  void everyCommandHasHelpNamingItsOptionsAndTheirVariables(String command, String option, String variable) {
    String[] args = (command + " --help").split(" ");
    Run help = run(args);
    assertEquals(0, help.exitCode(), help.err());
    assertTrue(help.out().startsWith("Usage: conduit " + command), help.out());
    assertTrue(oneLine(help.out()).contains(option), help.out());
    assertTrue(oneLine(help.out()).contains(variable), help.out());
  }

  @Test
  void helpShowsTheDefaultsFromTheConfigurationFiles() {
    String hub = oneLine(run("hub", "--help").out());
    assertTrue(hub.contains("CONDUIT_HUB_CLIENT_STALE_TIMEOUT; now 60s"), hub);
    String serve = oneLine(run("serve", "--help").out());
    assertTrue(serve.contains("CONDUIT_HTTP_PORT; now 8080"), serve);
  }

  /** Help text with its line wrapping undone. */
  private static String oneLine(String text) {
    return text.replaceAll("\\s+", " ");
  }

  @Test
  void versionIsTheProjectVersion() {
    String expected = "conduit " + System.getProperty("conduit.version");
    for (String[] args : List.of(new String[] {"--version"}, new String[] {"hub", "--version"})) {
      Run version = run(args);
      assertEquals(0, version.exitCode(), version.err());
      assertEquals(expected, version.out().lines().findFirst().orElse(""), version.out());
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "hub --bogus 1                                                     | '--bogus'",
      "hub --hub-idd x                                                   | --hub-id",
      "hub --hub-id h --secret-file f                                    | '--edge=URL'",
      "hub --edge http://h:1 --hub-id h --secret-file f --stale-timeout soon | '--stale-timeout'",
      "hub --edge http://h:1 --hub-id h --secret-file f --stale-timeout 0s   | '--stale-timeout'",
      "hub --edge ftp://h --hub-id h --secret-file f                     | --edge",
      "hub --edge http://h:1 --hub-id h --secret-file f --backoff-jitter 1.5 | --backoff-jitter",
      "serve --http-port eighty                                          | '--http-port'",
      "serve --grpc-port                                                 | '--grpc-port'",
      "simulate                                                          | instance or client",
      "simulate client                                                   | '--instance-id=ID' or '--claim=CODE'",
      "simulate client --instance-id a --claim b                         | mutually exclusive",
      "simulate client --claim b --messages many                         | '--messages'",
      "simulate instance --private-key %%%                               | '--private-key'",
      "bogus                                                             | 'bogus'"})
  void badUsageNamesTheOptionAndExits2(String line, String named) {
    Run run = run(line.trim().split(" +"));
    assertEquals(2, run.exitCode(), run.out() + run.err());
    assertTrue(run.err().startsWith("error: "), run.err());
    assertTrue(run.err().contains(named.trim()), run.err());
    assertTrue(run.err().contains("--help"), "points to the help: " + run.err());
  }

  @Test
  void aCommandThatFailsSaysWhyInOneLineAndExits1() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    Run run = run("simulate", "client", "--relay", "ws://127.0.0.1:1", "--instance-id", "x");
    assertEquals(1, run.exitCode(), run.out() + run.err());
    assertTrue(run.err().startsWith("error: conduit simulate client failed: "), run.err());
    assertTrue(run.err().contains("ConnectException"), run.err());
    assertEquals(1, run.err().lines().count(), "one line, no stack trace: " + run.err());
  }

  @ParameterizedTest
  @ValueSource(strings = {"help", "help hub"})
  void helpCommand(String line) {
    Run help = run(line.split(" "));
    assertEquals(0, help.exitCode(), help.err());
    assertTrue(help.out().startsWith("Usage: conduit"), help.out());
  }

  /** A real child JVM: the variables are the options' defaults, and a bad one is reported as its option. */
  @Test
  void optionsAreReadFromTheirEnvironmentVariables() throws Exception {
    Process good = child(List.of("hub", "--help"), "CONDUIT_HUB_CLIENT_STALE_TIMEOUT", "7s");
    String goodOut = new String(good.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(good.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, good.exitValue(), goodOut);
    assertTrue(oneLine(goodOut).contains("CONDUIT_HUB_CLIENT_STALE_TIMEOUT; now 7s"), goodOut);

    Process bad = child(List.of("hub", "--edge", "http://127.0.0.1:1", "--hub-id", "h", "--secret-file", "f"),
        "CONDUIT_HUB_CLIENT_STALE_TIMEOUT", "soon");
    String badOut = new String(bad.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(bad.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, bad.exitValue(), badOut);
    assertTrue(oneLine(badOut).contains("Invalid value for option '--stale-timeout': 'soon'"), badOut);
  }

  private static Process child(List<String> args, String variable, String value) throws Exception {
    return child(args, java.util.Map.of(variable, value));
  }

  private static Process child(List<String> args, java.util.Map<String, String> variables) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new java.util.ArrayList<>(List.of(java, "-Xmx128m", "-cp",
        System.getProperty("java.class.path"), Main.class.getName()));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(variables);
    return builder.start();
  }

  /**
   * A setting with no option of its own, given a bad value by its variable: serve stops at once with exit 2
   * and a last line that says which setting and why (it used to wait out startup-timeout, 60 s, then exit 1
   * with a TimeoutException).
   */
  @Test
  void aBadSettingFromItsVariableStopsServeAtOnce(@org.junit.jupiter.api.io.TempDir Path dataDir) throws Exception {
    Process serve = child(List.of("serve"), java.util.Map.of("CONDUIT_DATA_DIR", dataDir.toString(),
        "CONDUIT_HTTP_HOST", "127.0.0.1", "CONDUIT_HTTP_PORT", "0", "CONDUIT_GRPC_PORT", "0",
        "CONDUIT_TUNNEL_INSTANCE_TIMEOUT", "abc"));
    String out = new String(serve.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    // A hang guard below startup-timeout (60 s): waiting that long is the fault this test is about.
    assertTrue(serve.waitFor(45, TimeUnit.SECONDS), out);
    assertEquals(2, serve.exitValue(), out);
    String last = out.lines().filter(line -> line.contains("conduit did not start")).findFirst().orElse("");
    assertTrue(last.contains("invalid setting") && last.contains("instance-timeout") && last.contains("abc"), out);
  }
}
