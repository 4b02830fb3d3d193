package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.sparklm.tokenizer.SpecialTokens;

class BpeTrainerTest {
    private static final SpecialTokens NONE = new SpecialTokens(List.of());

    @Test
    void minbpeKnownAnswer() {
        // minbpe's test: "aaabdaaabac" with 3 merges encodes as [258, 100, 258, 97, 99]
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, Map.of("aaabdaaabac", 1L), 259, 1, NONE);
        BpeModel m = r.model();
        assertEquals(3, m.mergeCount());
        assertEquals("aa", m.token(256));
        assertEquals("ab", m.token(257)); // tie (aa,a)=2 vs (a,b)=2: left "a" < "aa"
        assertEquals("aaab", m.token(258));
        assertArrayEquals(new long[] {4, 2, 2}, r.mergeCounts());
        assertArrayEquals(new int[] {258, 100, 258, 97, 99}, new BpeTokenizer(m).encode("aaabdaaabac"));
    }

    @Test
    void overlappingPairsCountTwiceAndMergeLeftToRight() {
        // "aaa" x3 holds (a,a) twice per word: count 6; merging gives [aa, a]
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, Map.of("aaa", 3L), 257, 1, NONE);
        assertArrayEquals(new long[] {6}, r.mergeCounts());
        assertArrayEquals(new int[] {256, 'a'}, new BpeTokenizer(r.model()).encode("aaa"));
    }

    @Test
    void tiesGoToSmallestLeftBytesThenRight() {
        // every pair occurs once: (b,a) (c,d) (a,c) (a,b) (d,e) ... the left-smallest first, then right
        Map<String, Long> words = new HashMap<>();
        words.put("ba", 1L);
        words.put("cd", 1L);
        words.put("ac", 1L);
        words.put("ab", 1L);
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, words, 256 + 4, 1, NONE);
        BpeModel m = r.model();
        List<String> got = new ArrayList<>();
        for (int i = 0; i < m.mergeCount(); i++) {
            got.add(m.token(m.mergeLeft(i)) + "+" + m.token(m.mergeRight(i)));
        }
        assertEquals(List.of("a+b", "a+c", "b+a", "c+d"), got);
    }

    @Test
    void tieRuleUsesUnsignedBytes() {
        // 'é' is C3 A9: unsigned it sorts after every ASCII byte, signed it would come first
        Map<String, Long> words = Map.of("é", 1L, "zz", 1L);
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, words, 256 + 1, 1, NONE);
        assertEquals("zz", new String(r.model().tokenBytes(256), StandardCharsets.UTF_8));
    }

    @Test
    void stopsAtMinFrequency() {
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, Map.of("abab", 1L, "cd", 1L), 300, 2, NONE);
        assertEquals(1, r.model().mergeCount()); // (a,b)=2 only
        assertTrue(r.stopReason().contains("minimum frequency"), r.stopReason());
    }

    @Test
    void vocabularySizeCountsEveryId() {
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE,
            BpeTestSupport.countWords(BpeMode.BYTE, BpeTestSupport.randomLines(1, 500, "abcdef", 6)),
            SpecialTokens.DEFAULT.size() + 256 + 50, 1, SpecialTokens.DEFAULT);
        assertEquals(SpecialTokens.DEFAULT.size() + 256 + 50, r.model().vocabSize());
        assertEquals("[PAD]", r.model().token(0));
        assertEquals("<extra_id_99>", r.model().token(106));
    }

    @Test
    void rejectsTooSmallVocabulary() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new BpeTrainer.Config(BpeMode.BYTE, 300, 2, SpecialTokens.DEFAULT));
        assertTrue(e.getMessage().contains("300"), e.getMessage());
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.CHAR_EOW, 110, 1, SpecialTokens.DEFAULT));
        t.addWord("abcdef", 1);
        assertThrows(IllegalArgumentException.class, t::train);
    }

    @Test
    void equalsReferenceOnSeededRandomCorporaByteMode() {
        String[] alphabets = {"ab", "abc ", "aab", "abcdefgh", "xyzé€😀"};
        for (int seed = 0; seed < 25; seed++) {
            String alphabet = alphabets[seed % alphabets.length];
            Map<String, Long> words = BpeTestSupport.countWords(BpeMode.BYTE,
                BpeTestSupport.randomLines(seed, 200, alphabet, 12));
            int vocab = 256 + 7 + 40 + seed * 3;
            SpecialTokens specials = seed % 2 == 0 ? SpecialTokens.parse("[PAD],[UNK],ab,[EOS]") : NONE;
            long minF = 1 + seed % 3;
            assertEquals(BpeTestSupport.reference(BpeMode.BYTE, words, vocab, minF, specials),
                BpeTestSupport.merges(BpeTestSupport.train(BpeMode.BYTE, words, vocab, minF, specials)),
                "seed " + seed);
        }
    }

    @Test
    void equalsReferenceOnSeededRandomCorporaCharEowMode() {
        SpecialTokens specials = SpecialTokens.parse("[PAD],[UNK]");
        for (int seed = 0; seed < 15; seed++) {
            Map<String, Long> words = BpeTestSupport.countWords(BpeMode.CHAR_EOW,
                BpeTestSupport.randomLines(100 + seed, 200, seed % 2 == 0 ? "abc" : "aβγδ漢😀", 10));
            int vocab = 2 + 20 + 30 + seed;
            assertEquals(BpeTestSupport.reference(BpeMode.CHAR_EOW, words, vocab, 1, specials),
                BpeTestSupport.merges(BpeTestSupport.train(BpeMode.CHAR_EOW, words, vocab, 1, specials)),
                "seed " + seed);
        }
    }

    @Test
    void craftedTiesWithEqualCounts() {
        // all pairs tie at every step; symmetric words; repeated letters; a merge whose result already exists
        Map<String, Long> words = new LinkedHashMap<>();
        for (String w : List.of("abc", "bca", "cab", "aaaa", "abab", "baba", "ab", "bc", "abcabc", "cc")) {
            words.put(w, 5L);
        }
        for (int vocab = 257; vocab < 290; vocab += 4) {
            assertEquals(BpeTestSupport.reference(BpeMode.BYTE, words, vocab, 1, NONE),
                BpeTestSupport.merges(BpeTestSupport.train(BpeMode.BYTE, words, vocab, 1, NONE)), "vocab " + vocab);
        }
    }

    @Test
    void mergeProducingAnExistingTokenReusesItsId() {
        // "ab"+"c" and "a"+"bc" both make "abc": one id, two merges
        Map<String, Long> words = new LinkedHashMap<>();
        words.put("abc", 10L);
        words.put("xbc", 9L);
        words.put("abx", 8L);
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, words, 256 + 10, 1, NONE);
        assertEquals(BpeTestSupport.reference(BpeMode.BYTE, words, 256 + 10, 1, NONE), BpeTestSupport.merges(r));
        BpeModel m = r.model();
        assertTrue(m.mergeCount() >= m.vocabSize() - 256, m.toString());
        BpeTokenizer tok = new BpeTokenizer(m);
        assertEquals("abcxbcabx", tok.decode(tok.encode("abcxbcabx")));
    }

    @Test
    void resultDoesNotDependOnWordOrder() {
        Map<String, Long> words = BpeTestSupport.countWords(BpeMode.BYTE,
            BpeTestSupport.randomLines(7, 2000, "abcdefg hij", 9));
        List<Map.Entry<String, Long>> entries = new ArrayList<>(words.entrySet());
        BpeModel first = null;
        for (int shuffle = 0; shuffle < 4; shuffle++) {
            Collections.shuffle(entries, new Random(shuffle));
            BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 600, 2, SpecialTokens.DEFAULT));
            for (Map.Entry<String, Long> e : entries) {
                // split the count in two additions, as partial counts from different partitions would arrive
                if (e.getValue() > 1) {
                    t.addWord(e.getKey(), 1);
                    t.addWord(e.getKey(), e.getValue() - 1);
                } else {
                    t.addWord(e.getKey(), e.getValue());
                }
            }
            BpeModel m = t.train().model();
            if (first == null) {
                first = m;
            } else {
                assertEquals(first, m, "shuffle " + shuffle);
            }
        }
    }

    @Test
    void specialTokensAreNeverProducedByMerges() {
        // the corpus is full of the literal text "[EOS]": its bytes may merge up to "[EOS" but never "[EOS]"
        Map<String, Long> words = new HashMap<>();
        for (String line : List.of("[EOS] [EOS][EOS] x[EOS]", "[MASK] [MASK]")) {
            WordSplitter.split(BpeMode.BYTE, line, (s, e) -> words.merge(line.substring(s, e), 50L, Long::sum));
        }
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, words, 107 + 256 + 40, 1, SpecialTokens.DEFAULT);
        BpeModel m = r.model();
        for (int id = 107; id < m.vocabSize(); id++) {
            assertTrue(!SpecialTokens.DEFAULT.contains(m.token(id)), "id " + id + " is " + m.token(id));
        }
        assertEquals(BpeTestSupport.reference(BpeMode.BYTE, words, 107 + 256 + 40, 1, SpecialTokens.DEFAULT),
            BpeTestSupport.merges(r));
    }

    @Test
    void replayedCountsEqualRecordedCounts() {
        // replay the model's merges one by one on the word table; before each, count its pair from scratch
        Map<String, Long> words = BpeTestSupport.countWords(BpeMode.BYTE,
            BpeTestSupport.randomLines(99, 3000, "etaoin shrdlu", 10));
        BpeTrainer.Result r = BpeTestSupport.train(BpeMode.BYTE, words, 256 + 300, 2, NONE);
        BpeModel m = r.model();
        List<int[]> ws = new ArrayList<>();
        List<Long> cs = new ArrayList<>();
        words.forEach((w, c) -> {
            byte[] b = w.getBytes(StandardCharsets.UTF_8);
            int[] s = new int[b.length];
            for (int i = 0; i < b.length; i++) {
                s[i] = b[i] & 0xFF;
            }
            ws.add(s);
            cs.add(c);
        });
        for (int k = 0; k < m.mergeCount(); k++) {
            int a = m.mergeLeft(k);
            int b = m.mergeRight(k);
            long n = 0;
            for (int w = 0; w < ws.size(); w++) {
                int[] s = ws.get(w);
                int o = 0;
                for (int i = 0; i < s.length; i++) {
                    if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                        n += cs.get(w);
                        s[o++] = m.mergeResult(k);
                        i++;
                    } else {
                        s[o++] = s[i];
                    }
                }
                ws.set(w, java.util.Arrays.copyOf(s, o));
            }
            // non-overlapping occurrences are what a merge replaces; for a != b they equal the pair count
            if (a != b) {
                assertEquals(r.mergeCounts()[k], n, "merge " + k);
            }
        }
    }

    @Test
    void rejectsSpecialTokensThatAreAlsoBaseSymbols() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new BpeTrainer.Config(BpeMode.BYTE, 1000, 2, SpecialTokens.parse("[PAD],!")));
        assertTrue(e.getMessage().contains("'!'"), e.getMessage());
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.CHAR_EOW, 1000, 1, SpecialTokens.parse("[UNK],x")));
        t.addWord("axb", 3);
        assertThrows(IllegalArgumentException.class, t::train);
    }

    @Test
    void seededPairsMustNameTheWordTablesPairs() {
        // same total, but 1 of (t,h) moved to a pair no word holds: refused
        org.sparklm.util.LongLongMap seed = new org.sparklm.util.LongLongMap(16);
        BpeTrainer.countInitialPairs(BpeMode.BYTE, "the", 2, seed);
        seed.add(BpeTrainer.pair('t', 'h'), -1);
        seed.add(BpeTrainer.pair('q', 'q'), 1);
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 300, 1, NONE));
        t.addWord("the", 2);
        assertThrows(IllegalStateException.class, () -> t.train(null, seed));
    }

    @Test
    void equalsReferenceOnBundledCorpus() throws Exception {
        // the whole bundled corpus, 2 000 merges: the incremental loop must pick exactly the naive sequence
        Map<String, Long> words = BpeTestSupport.countWords(BpeMode.BYTE, BpeTestSupport.brownLines(Integer.MAX_VALUE));
        int vocab = SpecialTokens.DEFAULT.size() + 256 + 2000;
        List<ReferenceBpe.Merge> ours = BpeTestSupport.merges(
            BpeTestSupport.train(BpeMode.BYTE, words, vocab, 2, SpecialTokens.DEFAULT));
        assertEquals(2000, ours.size());
        assertEquals(BpeTestSupport.reference(BpeMode.BYTE, words, vocab, 2, SpecialTokens.DEFAULT), ours);
    }
}
