package org.sparklm.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;

/**
 * Throughput of {@link Gpt2PreTokenizer} against its reference regex on the lines of a text file (not a test).
 * Checks once that every line splits as the regex splits it, then times both. Usage:
 * {@code java -cp core/target/classes:core/target/test-classes org.sparklm.tokenizer.PreTokenizerBench FILE [ROUNDS]}
 */
public final class PreTokenizerBench {

    private PreTokenizerBench() {
    }

    public static void main(String[] args) throws IOException {
        List<String> lines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        double mb = lines.stream().mapToLong(l -> l.getBytes(StandardCharsets.UTF_8).length + 1).sum() / 1e6;
        System.out.printf("%s: %d lines, %.1f MB (UTF-8), %d lines split differently from the regex%n",
                args[0], lines.size(), mb, lines.stream().filter(l -> !spans(l).equals(regexSpans(l))).count());
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            long scanned = scanner(lines);
            long t1 = System.nanoTime();
            long matched = regex(lines);
            long t2 = System.nanoTime();
            System.out.printf("round %d: scanner %.1f MB/s, regex %.1f MB/s (%d pre-tokens%s)%n", r,
                    mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9), scanned, scanned == matched ? "" : " MISMATCH");
        }
    }

    private static List<Integer> spans(String line) {
        List<Integer> out = new ArrayList<>();
        Gpt2PreTokenizer.INSTANCE.split(line, (s, e) -> {
            out.add(s);
            out.add(e);
        });
        return out;
    }

    private static List<Integer> regexSpans(String line) {
        List<Integer> out = new ArrayList<>();
        Matcher m = Gpt2PreTokenizer.REGEX.matcher(line);
        while (m.find()) {
            out.add(m.start());
            out.add(m.end());
        }
        return out;
    }

    private static long scanner(List<String> lines) {
        long[] count = {0};
        PreTokenizer.SpanConsumer out = (s, e) -> count[0] += 1;
        for (String line : lines) {
            Gpt2PreTokenizer.INSTANCE.split(line, out);
        }
        return count[0];
    }

    private static long regex(List<String> lines) {
        long count = 0;
        Matcher m = Gpt2PreTokenizer.REGEX.matcher("");
        for (String line : lines) {
            m.reset(line);
            while (m.find()) {
                count++;
            }
        }
        return count;
    }
}
