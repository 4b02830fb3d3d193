package org.sparklm.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the discovery scripts of deploy/conf as Spark does (no argument, JSON on standard output) and checks the JSON
 * against what Spark parses (a ResourceInformation: {"name": "gpu", "addresses": ["0", ...]}, addresses strings).
 */
class GpuDiscoveryScriptTest {
    @TempDir
    Path tmp;

    /** deploy/conf, found from the module directory (tests run in core/). */
    static Path confDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("deploy").resolve("conf");
            if (Files.isRegularFile(c.resolve("gpu-discovery-fake.sh"))) {
                return c;
            }
        }
        throw new IllegalStateException("deploy/conf not found above " + Path.of("").toAbsolutePath());
    }

    record Run(int exit, String out, String err) {
    }

    static Run run(String script, Map<String, String> env, List<String> unset) throws Exception {
        String bash = Files.isExecutable(Path.of("/bin/bash")) ? "/bin/bash" : "bash";
        ProcessBuilder pb = new ProcessBuilder(bash, confDir().resolve(script).toString());
        unset.forEach(pb.environment()::remove);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(script + " did not finish in 20 s");
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
            new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The addresses of the discovery JSON, checked to be what Spark's ResourceInformation parser accepts. */
    static List<String> addresses(String json) throws IOException {
        JsonNode n = new ObjectMapper().readTree(json);
        assertEquals("gpu", n.get("name").asText());
        assertEquals(2, n.size(), "only name and addresses: " + json);
        List<String> out = new ArrayList<>();
        for (JsonNode a : n.get("addresses")) {
            assertTrue(a.isTextual(), "addresses are JSON strings: " + json);
            out.add(a.asText());
        }
        return out;
    }

    @Test
    void fakeScriptPrintsTwoGpusByDefault() throws Exception {
        Run r = run("gpu-discovery-fake.sh", Map.of(), List.of("FAKE_GPU_ADDRESSES"));
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of("0", "1"), addresses(r.out()));
    }

    @Test
    void fakeScriptAddressesComeFromTheEnvironment() throws Exception {
        assertEquals(List.of("3", "5", "7"),
            addresses(run("gpu-discovery-fake.sh", Map.of("FAKE_GPU_ADDRESSES", "3, 5 7"), List.of()).out()));
        assertEquals(List.of(), addresses(run("gpu-discovery-fake.sh", Map.of("FAKE_GPU_ADDRESSES", ""),
            List.of()).out()));
        Run bad = run("gpu-discovery-fake.sh", Map.of("FAKE_GPU_ADDRESSES", "0,\"1"), List.of());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("bad address '\"1'"), bad.err());
        assertEquals("", bad.out());
    }

    @Test
    void realScriptReadsNvidiaSmi() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path smi = bin.resolve("nvidia-smi");
        Files.writeString(smi, """
            #!/bin/sh
            [ "$*" = "--query-gpu=index --format=csv,noheader" ] || { echo "unexpected arguments: $*" >&2; exit 3; }
            printf '0\\n1\\n2\\n'
            """);
        assertTrue(smi.toFile().setExecutable(true));
        Run r = run("gpu-discovery.sh", Map.of("PATH", bin.toString()), List.of());
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of("0", "1", "2"), addresses(r.out()));
    }

    @Test
    void realScriptFailsClearlyWithoutNvidiaSmi() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Run r = run("gpu-discovery.sh", Map.of("PATH", empty.toString()), List.of());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("nvidia-smi not found"), r.err());
        assertEquals("", r.out());
    }
}
