package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.util.LongLongMap;

/**
 * Training seeded with initial pair counts computed elsewhere ({@link BpeTrainer#countInitialPairs} per partition
 * of the unique words, then summed, as the Spark job does) gives exactly the model of unseeded training, and a seed
 * that does not match the words is rejected.
 */
class SeededPairsTest {
    private static final SpecialTokens SPECIALS = SpecialTokens.parse("[PAD],[UNK],[EOS]");

    /** The words split into disjoint partitions at random, pairs counted per partition, then summed. */
    private static LongLongMap seed(BpeMode mode, Map<String, Long> words, int partitions, long rndSeed) {
        Random rnd = new Random(rndSeed);
        List<LongLongMap> parts = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            parts.add(new LongLongMap(16));
        }
        words.forEach((w, c) -> BpeTrainer.countInitialPairs(mode, w, c, parts.get(rnd.nextInt(partitions))));
        LongLongMap total = new LongLongMap(16);
        for (LongLongMap p : parts) {
            p.forEach(total::add);
        }
        return total;
    }

    private static BpeTrainer trainer(BpeMode mode, Map<String, Long> words, int vocab, long minFrequency) {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(mode, vocab, minFrequency, SPECIALS));
        words.forEach(t::addWord);
        return t;
    }

    private static void assertSameResult(BpeTrainer.Result expected, BpeTrainer.Result actual, String what) {
        assertEquals(expected.model(), actual.model(), what);
        assertArrayEquals(expected.mergeCounts(), actual.mergeCounts(), what);
        assertEquals(expected.uniqueWords(), actual.uniqueWords(), what);
        assertEquals(expected.totalWords(), actual.totalWords(), what);
        assertEquals(expected.initialPairs(), actual.initialPairs(), what);
        assertEquals(expected.stopReason(), actual.stopReason(), what);
    }

    private static int vocabFor(BpeMode mode, Map<String, Long> words, int merges) {
        if (mode == BpeMode.BYTE) {
            return SPECIALS.size() + 256 + merges;
        }
        Set<String> alphabet = new HashSet<>();
        for (String w : words.keySet()) {
            alphabet.addAll(ReferenceBpe.charSymbols(BpeTokenizerTest.withReplacedSurrogates(w)));
        }
        return SPECIALS.size() + alphabet.size() + merges;
    }

    private static void checkSeededEqualsUnseeded(BpeMode mode, Map<String, Long> words, int merges, long minF,
                                                  String what) {
        int vocab = vocabFor(mode, words, merges);
        BpeTrainer.Result plain = trainer(mode, words, vocab, minF).train();
        assertTrue(plain.model().mergeCount() > 0, what + ": nothing merged");
        for (int partitions : new int[] {1, 3, 8}) {
            BpeTrainer.Result seeded = trainer(mode, words, vocab, minF)
                .train(null, seed(mode, words, partitions, partitions * 31L));
            assertSameResult(plain, seeded, what + ", " + partitions + " partitions");
        }
    }

    @Test
    void seededEqualsUnseededOnRandomCorpora() {
        // the last alphabet has a combining mark and an unpaired surrogate (counted as U+FFFD)
        String[] alphabets = {"ab", "abc ", "aab", "abcdefgh", "xyzé€😀", "aβγδ漢😀",
            "e\u0301\uD83D\uDC4D\uD800"};
        for (int seed = 0; seed < 20; seed++) {
            String alphabet = alphabets[seed % alphabets.length];
            for (BpeMode mode : BpeMode.values()) {
                Map<String, Long> words = BpeTestSupport.countWords(mode,
                    BpeTestSupport.randomLines(seed, 300, alphabet, 12));
                checkSeededEqualsUnseeded(mode, words, 30 + seed * 5, 1 + seed % 3,
                    mode + " seed " + seed + " alphabet " + alphabet);
            }
        }
    }

    @Test
    void seededEqualsUnseededOnRandomUnicodeText() {
        Random rnd = new Random(12);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            lines.add(BpeTokenizerTest.randomText(rnd, List.of(), true, true)); // lone surrogates count as U+FFFD
        }
        for (BpeMode mode : BpeMode.values()) {
            checkSeededEqualsUnseeded(mode, BpeTestSupport.countWords(mode, lines), 500, 2, mode + " random text");
        }
    }

    @Test
    void seededEqualsUnseededOnTheCorpus() throws Exception {
        List<String> lines = BpeTestSupport.brownLines(20_000);
        for (BpeMode mode : BpeMode.values()) {
            checkSeededEqualsUnseeded(mode, BpeTestSupport.countWords(mode, lines), 1000, 2, mode + " Brown");
        }
    }

    @Test
    void partialCountsOfTheSameWordAddUp() {
        // the pair counts are linear in the word count: counting a word's count in pieces gives the same seed
        Map<String, Long> words = new LinkedHashMap<>();
        words.put("hello", 7L);
        words.put("h\u00E9llo\uD83D\uDE00", 5L);
        words.put("aaaa", 3L);
        for (BpeMode mode : BpeMode.values()) {
            LongLongMap whole = seed(mode, words, 1, 0);
            LongLongMap pieces = new LongLongMap(16);
            words.forEach((w, c) -> {
                BpeTrainer.countInitialPairs(mode, w, 1, pieces);
                BpeTrainer.countInitialPairs(mode, w, c - 1, pieces);
            });
            assertEquals(whole.size(), pieces.size());
            whole.forEach((k, v) -> assertEquals(v, pieces.get(k), mode + " pair " + Long.toHexString(k)));
        }
        // known answer, byte mode: "aaaa" x3 holds (a,a) three times per word
        LongLongMap m = new LongLongMap(16);
        BpeTrainer.countInitialPairs(BpeMode.BYTE, "aaaa", 3, m);
        assertEquals(1, m.size());
        assertEquals(9, m.get(((long) 'a' << 32) | 'a'));
        // char-eow: codes are codePoint * 2 + (last ? 1 : 0)
        LongLongMap c = new LongLongMap(16);
        BpeTrainer.countInitialPairs(BpeMode.CHAR_EOW, "ab", 2, c);
        assertEquals(2, c.get(((long) 'a' * 2 << 32) | ('b' * 2 + 1)));
        assertEquals(1, c.size());
    }

    // ---------------------------------------------------------------- wrong seeds

    private static Map<String, Long> brownWords(BpeMode mode) throws Exception {
        return BpeTestSupport.countWords(mode, BpeTestSupport.brownLines(3000));
    }

    /** Some key of the map (the first in iteration order). */
    private static long anyKey(LongLongMap m) {
        long[] k = {-1};
        m.forEach((key, v) -> {
            if (k[0] < 0) {
                k[0] = key;
            }
        });
        return k[0];
    }

    @Test
    void seedWithOneCountAlteredIsRejected() throws Exception {
        for (BpeMode mode : BpeMode.values()) {
            Map<String, Long> words = brownWords(mode);
            int vocab = vocabFor(mode, words, 200);
            for (long delta : new long[] {1, -1, 1000}) {
                LongLongMap wrong = seed(mode, words, 4, 1);
                wrong.add(anyKey(wrong), delta);
                IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> trainer(mode, words, vocab, 2).train(null, wrong));
                assertTrue(e.getMessage().contains("seeded pair counts"), e.getMessage());
            }
        }
    }

    @Test
    void seedMissingOrAddingAPairIsRejected() throws Exception {
        for (BpeMode mode : BpeMode.values()) {
            Map<String, Long> words = brownWords(mode);
            int vocab = vocabFor(mode, words, 200);
            // one partition's pairs lost
            Map<String, Long> most = new HashMap<>(words);
            most.remove("the");
            LongLongMap partial = seed(mode, most, 4, 1);
            assertThrows(IllegalStateException.class, () -> trainer(mode, words, vocab, 2).train(null, partial));
            // a pair of symbols that the words have, but never adjacent in this order
            LongLongMap extra = seed(mode, words, 4, 1);
            long qq = mode == BpeMode.BYTE ? ((long) 'q' << 32) | 'q' : ((long) 'q' * 2 << 32) | ('q' * 2);
            assertEquals(0, extra.get(qq), "the corpus has 'qq'");
            extra.add(qq, 5);
            assertThrows(IllegalStateException.class, () -> trainer(mode, words, vocab, 2).train(null, extra));
        }
    }

    @Test
    void charEowSeedNamingAnUnknownSymbolIsRejected() throws Exception {
        Map<String, Long> words = brownWords(BpeMode.CHAR_EOW);
        int vocab = vocabFor(BpeMode.CHAR_EOW, words, 200);
        LongLongMap wrong = seed(BpeMode.CHAR_EOW, words, 2, 3);
        long k = anyKey(wrong);
        long v = wrong.get(k);
        wrong.add(k, -v); // keep the total: move this pair's count to a pair with a character no word has
        wrong.add(((long) 0x2603 * 2 << 32) | ('a' * 2 + 1), v);
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> trainer(BpeMode.CHAR_EOW, words, vocab, 2).train(null, wrong));
        assertTrue(e.getMessage().contains("no word has"), e.getMessage());
    }

    @Test
    void seededTrainingRunsOnlyOnce() {
        Map<String, Long> words = Map.of("abab", 3L);
        BpeTrainer t = trainer(BpeMode.BYTE, words, SPECIALS.size() + 256 + 2, 1);
        t.train(null, seed(BpeMode.BYTE, words, 1, 0));
        assertThrows(IllegalStateException.class, () -> t.train(null, seed(BpeMode.BYTE, words, 1, 0)));
    }
}
