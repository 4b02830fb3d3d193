package org.sparklm.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the repository's scripts ({@code deploy/bin/...}) as child processes, each with its standard output and error in
 * files under a log directory, and kills whatever is still running on {@link #close()} (the process and its
 * descendants, by PID).
 *
 * <p>The environment is the test JVM's without the variables that would point the scripts elsewhere (SPARK_HOME,
 * SPARK_CONF_DIR, HADOOP_CONF_DIR, SPARKLM_*), so they use the runtime and configuration of this build.
 */
final class Scripts implements AutoCloseable {
    /** A finished run: exit code, standard output, and the files holding both streams. */
    record Result(String what, int exitCode, String stdout, Path stdoutFile, Path stderrFile) {
        /** The run's standard error (its log). */
        String stderr() {
            try {
                return Files.readString(stderrFile, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(cannot read " + stderrFile + ": " + e + ")";
            }
        }

        /** A failure message: the command, its exit code and the last lines of both streams. */
        String describe() {
            return what + " exited with " + exitCode + "\n--- stdout (" + stdoutFile + ") ---\n" + tail(stdout, 40)
                + "\n--- stderr (" + stderrFile + ") ---\n" + tail(stderr(), 60);
        }
    }

    private final Path home;
    private final Path logDir;
    private final List<Process> started = new CopyOnWriteArrayList<>();
    private final AtomicInteger counter = new AtomicInteger();

    Scripts(Path home, Path logDir) throws IOException {
        this.home = home;
        this.logDir = logDir;
        Files.createDirectories(logDir);
    }

    /** Runs {@code deploy/bin/SCRIPT ARGS...} to completion (killed after the timeout, which fails the test). */
    Result run(String label, Duration timeout, String script, String... args)
            throws IOException, InterruptedException {
        Running r = start(label, script, args);
        return r.await(timeout);
    }

    /** Starts {@code deploy/bin/SCRIPT ARGS...} without waiting. */
    Running start(String label, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("deploy/bin").resolve(script).toString());
        cmd.addAll(List.of(args));
        String name = String.format("%02d-%s", counter.incrementAndGet(), label);
        Path out = logDir.resolve(name + ".out");
        Path err = logDir.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd)
            .directory(home.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("SPARKLM_") || k.equals("SPARK_HOME") || k.equals("SPARK_CONF_DIR")
            || k.equals("HADOOP_CONF_DIR"));
        Process p = pb.start();
        started.add(p);
        return new Running(String.join(" ", cmd), p, out, err);
    }

    /** A started script. */
    final class Running {
        private final String what;
        private final Process process;
        private final Path out;
        private final Path err;

        private Running(String what, Process process, Path out, Path err) {
            this.what = what;
            this.process = process;
            this.out = out;
            this.err = err;
        }

        long pid() {
            return process.pid();
        }

        boolean isAlive() {
            return process.isAlive();
        }

        /** What it has written to standard error so far. */
        String stderrSoFar() throws IOException {
            return Files.readString(err, StandardCharsets.UTF_8);
        }

        Result await(Duration timeout) throws IOException, InterruptedException {
            boolean done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                kill(process);
                started.remove(process);
                Result r = new Result(what, -1, Files.readString(out, StandardCharsets.UTF_8), out, err);
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s and killed: "
                    + r.describe());
            }
            started.remove(process);
            return new Result(what, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), out, err);
        }
    }

    /** Kills every process started here that still runs, with its descendants. */
    @Override
    public void close() {
        for (Process p : started) {
            kill(p);
        }
        started.clear();
    }

    private static void kill(Process p) {
        List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
        all.add(p.toHandle());
        all.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
    }

    static String tail(String s, int lines) {
        String[] all = s.split("\n", -1);
        int from = Math.max(0, all.length - lines);
        return String.join("\n", java.util.Arrays.asList(all).subList(from, all.length));
    }
}
