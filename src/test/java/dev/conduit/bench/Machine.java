package dev.conduit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the figures were measured on. */
final class Machine {
  private Machine() {}

  static Map<String, Object> describe() {
    Map<String, Object> machine = new LinkedHashMap<>();
    machine.put("cpus", Runtime.getRuntime().availableProcessors());
    machine.put("cpu_model", firstValue(Path.of("/proc/cpuinfo"), "model name"));
    machine.put("memory_total", firstValue(Path.of("/proc/meminfo"), "MemTotal"));
    machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    machine.put("server_heap", BenchConfig.SERVER_HEAP);
    machine.put("load", loadAverage());
    return machine;
  }

  /** 1, 5 and 15 minute load averages: the machine is shared, so every figure says how busy it was. */
  static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String firstValue(Path file, String key) {
    try {
      return Files.readAllLines(file).stream().filter(line -> line.startsWith(key))
          .map(line -> line.substring(line.indexOf(':') + 1).trim()).findFirst().orElse("unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
