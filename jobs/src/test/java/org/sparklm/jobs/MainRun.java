package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs {@link Main#run} as deploy/bin does and captures its exit code, standard output and standard error. */
final class MainRun {
    private MainRun() {
    }

    /** What one run of the entry point printed and returned. */
    record Outcome(int code, String out, String err) {
    }

    /** Runs the entry point with the test's own standard input. */
    static Outcome run(String... args) {
        return capture(null, args);
    }

    /** Runs the entry point with {@code stdin} as its standard input. */
    static Outcome withInput(String stdin, String... args) {
        return capture(stdin, args);
    }

    /** A command's method called directly, returning its exit code. */
    interface Call {
        int run() throws IOException;
    }

    /** The standard output of a command called directly; its exit code must be 0. */
    static String capture(Call c) throws IOException {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, c.run());
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    private static Outcome capture(String stdin, String[] args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            if (stdin != null) {
                System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            }
            int code = Main.run(args);
            return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }
}
