package dev.conduit.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * No Docker engine runs here, so the image cannot be built in CI; this checks that what the
 * Dockerfile copies and runs is what the build produces and the code reads.
 */
class DockerfileTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir"));

  @Test
  void dockerfileCopiesTheShadedJarTheBuildProduces() throws Exception {
    String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
    String pom = Files.readString(ROOT.resolve("pom.xml"));

    String finalName = group(pom, "<finalName>([^<]+)</finalName>");
    Matcher copy = Pattern.compile("COPY --from=build /build/target/(\\S+) (\\S+)").matcher(dockerfile);
    assertTrue(copy.find(), "the run stage copies the jar from the build stage");
    assertEquals(finalName + ".jar", copy.group(1), "jar name matches pom finalName");
    // The entrypoint runs it directly (["java", "-jar", "<jar>"]) or through a shell (raising ulimit -n first).
    Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT (.*)$").matcher(dockerfile);
    assertTrue(entrypoint.find(), "an ENTRYPOINT");
    assertTrue(Pattern.compile("-jar(\", \"| )" + Pattern.quote(copy.group(2)) + "[\" ]").matcher(entrypoint.group(1)).find(),
        "the entrypoint runs the copied jar: " + entrypoint.group(1));
    assertTrue(pom.contains("maven-shade-plugin") && pom.contains("<mainClass>${main.class}</mainClass>"),
        "the jar is shaded with a main class");
    assertTrue(Files.exists(ROOT.resolve("src/main/java/" + group(pom, "<main.class>([^<]+)</main.class>")
        .replace('.', '/') + ".java")), "the main class exists");

    // The build stage copies what the build needs.
    for (String needed : List.of("COPY pom.xml", "COPY src ./src")) {
      assertTrue(dockerfile.contains(needed), needed);
    }
    // Runs as a non-root user, with the data directory the configuration reads.
    assertTrue(dockerfile.contains("USER conduit"));
    // application.conf and the feature files it includes (tunnel.conf, webhook.conf, hub-client.conf).
    StringBuilder conf = new StringBuilder();
    try (var files = Files.list(ROOT.resolve("src/main/resources"))) {
      for (java.nio.file.Path file : files.filter(f -> f.toString().endsWith(".conf")).sorted().toList()) {
        conf.append(Files.readString(file));
      }
    }
    for (Matcher env = Pattern.compile("ENV (CONDUIT_\\w+)|\\s+(CONDUIT_\\w+)=").matcher(dockerfile); env.find(); ) {
      String name = env.group(1) != null ? env.group(1) : env.group(2);
      assertTrue(conf.indexOf("${?" + name + "}") >= 0, name + " is a setting the configuration reads");
    }
  }

  private static String group(String text, String regex) {
    Matcher matcher = Pattern.compile(regex).matcher(text);
    assertTrue(matcher.find(), regex);
    return matcher.group(1);
  }
}
