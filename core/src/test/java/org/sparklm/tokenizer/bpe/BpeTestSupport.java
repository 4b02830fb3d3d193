package org.sparklm.tokenizer.bpe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/** Shared helpers: word counting the way the Spark job does it, the bundled corpus, random corpora. */
final class BpeTestSupport {
    private BpeTestSupport() {
    }

    /** The bundled Brown corpus, found from the module directory or the repository root. */
    static Path brown() {
        for (Path p : List.of(Path.of("../data/brown/brown.txt"), Path.of("data/brown/brown.txt"))) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IllegalStateException("bundled corpus data/brown/brown.txt not found from " + Path.of("").toAbsolutePath());
    }

    static List<String> brownLines(int max) throws IOException {
        try (Stream<String> s = Files.lines(brown(), StandardCharsets.UTF_8)) {
            return s.limit(max).toList();
        }
    }

    /** Word counts of lines, split as the trainer's callers split them. */
    static Map<String, Long> countWords(BpeMode mode, List<String> lines) {
        Map<String, Long> counts = new HashMap<>();
        for (String line : lines) {
            WordSplitter.split(mode, line, (s, e) -> counts.merge(line.substring(s, e), 1L, Long::sum));
        }
        return counts;
    }

    static BpeTrainer.Result train(BpeMode mode, Map<String, Long> words, int vocabSize, long minFrequency,
                                   org.sparklm.tokenizer.SpecialTokens specials) {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(mode, vocabSize, minFrequency, specials));
        words.forEach(t::addWord);
        return t.train();
    }

    /** The reference's merges for the same input. */
    static List<ReferenceBpe.Merge> reference(BpeMode mode, Map<String, Long> words, int vocabSize,
                                              long minFrequency, org.sparklm.tokenizer.SpecialTokens specials) {
        Map<List<String>, Long> symbolic = new LinkedHashMap<>();
        java.util.Set<String> initial = new java.util.HashSet<>();
        words.forEach((w, c) -> {
            List<String> s = mode == BpeMode.BYTE ? ReferenceBpe.byteSymbols(w) : ReferenceBpe.charSymbols(w);
            if (!s.isEmpty()) {
                symbolic.merge(s, c, Long::sum);
                initial.addAll(s);
            }
        });
        int base = mode == BpeMode.BYTE ? 256 : initial.size();
        if (mode == BpeMode.BYTE) {
            for (int b = 0; b < 256; b++) {
                initial.add(new String(new byte[] {(byte) b}, StandardCharsets.ISO_8859_1));
            }
        }
        java.util.Set<String> forbidden = new java.util.HashSet<>();
        for (String s : specials.tokens()) {
            forbidden.add(ReferenceBpe.utf8(s));
        }
        return ReferenceBpe.train(symbolic, vocabSize - specials.size() - base, minFrequency, forbidden, initial);
    }

    /** The trainer's merges in the reference's terms. */
    static List<ReferenceBpe.Merge> merges(BpeTrainer.Result r) {
        BpeModel m = r.model();
        List<ReferenceBpe.Merge> out = new ArrayList<>();
        for (int i = 0; i < m.mergeCount(); i++) {
            out.add(new ReferenceBpe.Merge(
                new String(m.tokenBytes(m.mergeLeft(i)), StandardCharsets.ISO_8859_1),
                new String(m.tokenBytes(m.mergeRight(i)), StandardCharsets.ISO_8859_1),
                r.mergeCounts()[i]));
        }
        return out;
    }

    /** A random corpus over a small alphabet (many ties), seeded. */
    static List<String> randomLines(long seed, int lines, String alphabet, int maxWordLen) {
        Random rnd = new Random(seed);
        int[] cps = alphabet.codePoints().toArray();
        List<String> out = new ArrayList<>();
        for (int l = 0; l < lines; l++) {
            StringBuilder sb = new StringBuilder();
            int wordsInLine = 1 + rnd.nextInt(8);
            for (int w = 0; w < wordsInLine; w++) {
                if (w > 0) {
                    sb.append(' ');
                }
                int len = 1 + rnd.nextInt(maxWordLen);
                for (int i = 0; i < len; i++) {
                    sb.appendCodePoint(cps[rnd.nextInt(cps.length)]);
                }
            }
            out.add(sb.toString());
        }
        return out;
    }
}
