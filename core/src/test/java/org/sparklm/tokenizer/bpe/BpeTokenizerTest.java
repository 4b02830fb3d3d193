package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.util.IntList;

/**
 * The encoder/decoder contract of {@link BpeTokenizer} on small models trained on the bundled corpus: round trips
 * on random Unicode, special tokens, unknown characters, batch and concurrent use, the cache, pathological long
 * lines, and agreement with the merge ranks.
 */
class BpeTokenizerTest {
    private static final int EOS = 3;
    private static final int S = SpecialTokens.DEFAULT.size(); // 107

    private static List<String> brown;
    private static BpeTokenizer bytes;
    private static BpeTokenizer chars;

    @BeforeAll
    static void train() throws Exception {
        brown = BpeTestSupport.brownLines(5000);
        // the corpus also holds the special tokens' strings as plain text, so merges have the chance to build them
        List<String> corpus = new ArrayList<>(brown);
        for (int i = 0; i < 300; i++) {
            corpus.add(brown.get(i) + " [EOS] x[EOS]y <extra_id_7> [CLS][SEP]");
        }
        bytes = new BpeTokenizer(BpeTestSupport.train(BpeMode.BYTE,
            BpeTestSupport.countWords(BpeMode.BYTE, corpus), S + 256 + 1500, 2, SpecialTokens.DEFAULT).model());
        chars = new BpeTokenizer(BpeTestSupport.train(BpeMode.CHAR_EOW,
            BpeTestSupport.countWords(BpeMode.CHAR_EOW, corpus), S + 100 + 1500, 2, SpecialTokens.DEFAULT).model());
        assertEquals(S + 256 + 1500, bytes.vocabSize());
        assertEquals(S + 100 + 1500, chars.vocabSize());
    }

    // ---------------------------------------------------------------- random text

    private static final String[] EMOJI_SEQUENCES = {
        "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67\u200D\uD83D\uDC66", // family: man ZWJ woman ZWJ girl ZWJ boy
        "\uD83D\uDC69\uD83C\uDFFD\u200D\uD83D\uDCBB", // woman, skin tone 4, ZWJ, laptop
        "\u2764\uFE0F", // heart + VS16
        "\uD83C\uDDFA\uD83C\uDDF8", // flag: regional indicators U S
        "\uD83C\uDFF3\uFE0F\u200D\uD83C\uDF08", // rainbow flag
    };
    private static final String[] CONTRACTIONS = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'"};
    private static final String[] SPECIAL_TEXT = {"[EOS]", "[PAD]", "<extra_id_7>", "<extra_id_99>", "[CLS][SEP]",
        "[UNK]", "[MASK]", "<extra_id_", "[EOS"};
    private static final int[] UNICODE_SPACES = {0x00A0, 0x2028, 0x2029, 0x3000, 0x2009, 0x202F, 0x1680, 0x205F,
        0x2007, 0x0085, 0xFEFF, 0x200B};
    /** Any default special token: what decode(ids, true) leaves out. */
    private static final Pattern SPECIALS_RE = Pattern.compile("\\[(PAD|UNK|BOS|EOS|MASK|CLS|SEP)]|<extra_id_\\d\\d?>");
    private static final String PUNCT = " .,;:!?\"()[]{}<>-_/\\@#$%^&*+=|~`0123456789";

    /**
     * A random string of 1..20 pieces: ASCII words, punctuation and digits, whitespace runs, contractions, CJK,
     * emoji (with skin tones and ZWJ sequences), combining marks, Arabic and Hebrew (with bidi marks), C0 controls,
     * Unicode spaces, non-ASCII digits, supplementary letters, Latin-1/Greek/Cyrillic, and lines of the corpus;
     * optionally special-token strings and unpaired surrogates. Only long-assigned code points, so that Unicode
     * version differences between implementations do not matter.
     */
    static String randomText(Random rnd, List<String> lines, boolean specials, boolean loneSurrogates) {
        StringBuilder sb = new StringBuilder();
        int pieces = 1 + rnd.nextInt(20);
        for (int p = 0; p < pieces; p++) {
            int kind = rnd.nextInt(17);
            switch (kind) {
                case 0 -> {
                    int n = 1 + rnd.nextInt(10);
                    for (int i = 0; i < n; i++) {
                        sb.append((char) ((rnd.nextBoolean() ? 'a' : 'A') + rnd.nextInt(26)));
                    }
                }
                case 1 -> {
                    int n = 1 + rnd.nextInt(4);
                    for (int i = 0; i < n; i++) {
                        sb.append(PUNCT.charAt(rnd.nextInt(PUNCT.length())));
                    }
                }
                case 2 -> sb.append(new String[] {" ", "  ", "\t", "\n", "\r\n", " \n ", "   "}[rnd.nextInt(7)]);
                case 3 -> sb.append(CONTRACTIONS[rnd.nextInt(CONTRACTIONS.length)]);
                case 4 -> {
                    int n = 1 + rnd.nextInt(6);
                    for (int i = 0; i < n; i++) {
                        sb.append((char) (rnd.nextBoolean() ? 0x4E00 + rnd.nextInt(0x9FA5 - 0x4E00 + 1)
                            : 0x3041 + rnd.nextInt(0x3093 - 0x3041 + 1)));
                    }
                }
                case 5 -> {
                    if (rnd.nextBoolean()) {
                        sb.append(EMOJI_SEQUENCES[rnd.nextInt(EMOJI_SEQUENCES.length)]);
                    } else {
                        sb.appendCodePoint(0x1F600 + rnd.nextInt(0x50));
                        if (rnd.nextBoolean()) {
                            sb.appendCodePoint(0x1F3FB + rnd.nextInt(5)); // skin tone modifier
                        }
                    }
                }
                case 6 -> {
                    if (rnd.nextInt(4) > 0) {
                        sb.append((char) ('a' + rnd.nextInt(26)));
                    }
                    int n = 1 + rnd.nextInt(3);
                    for (int i = 0; i < n; i++) {
                        sb.append((char) (0x0300 + rnd.nextInt(0x70)));
                    }
                }
                case 7 -> {
                    int n = 1 + rnd.nextInt(6);
                    boolean arabic = rnd.nextBoolean();
                    for (int i = 0; i < n; i++) {
                        if (arabic) {
                            sb.append((char) (rnd.nextBoolean() ? 0x0627 + rnd.nextInt(0x063A - 0x0627 + 1)
                                : 0x0641 + rnd.nextInt(0x064A - 0x0641 + 1)));
                            if (rnd.nextInt(3) == 0) {
                                sb.append((char) (0x064B + rnd.nextInt(8))); // harakat
                            }
                        } else {
                            sb.append((char) (0x05D0 + rnd.nextInt(0x05EA - 0x05D0 + 1)));
                        }
                    }
                    if (rnd.nextInt(3) == 0) {
                        sb.append(rnd.nextBoolean() ? '\u200F' : '\u200E');
                    }
                }
                case 8 -> sb.append((char) (rnd.nextInt(9) == 0 ? 0x7F : rnd.nextInt(0x20)));
                case 9 -> sb.append((char) UNICODE_SPACES[rnd.nextInt(UNICODE_SPACES.length)]);
                case 10 -> {
                    int[] nums = {0x0660 + rnd.nextInt(10), 0xFF10 + rnd.nextInt(10), 0x00B2, 0x00BD, 0x216B,
                        0x2460 + rnd.nextInt(20)};
                    sb.appendCodePoint(nums[rnd.nextInt(nums.length)]);
                }
                case 11 -> {
                    int[] base = {0x10400, 0x1D400, 0x20000};
                    int n = 1 + rnd.nextInt(4);
                    for (int i = 0; i < n; i++) {
                        sb.appendCodePoint(base[rnd.nextInt(base.length)] + rnd.nextInt(0x34));
                    }
                }
                case 12 -> {
                    if (!lines.isEmpty()) {
                        sb.append(lines.get(rnd.nextInt(lines.size())));
                    }
                }
                case 13 -> {
                    int[][] ranges = {{0x00C0, 0x00D6}, {0x00D8, 0x00F6}, {0x0391, 0x03A1}, {0x03B1, 0x03C9},
                        {0x0410, 0x044F}};
                    int[] r = ranges[rnd.nextInt(ranges.length)];
                    int n = 1 + rnd.nextInt(8);
                    for (int i = 0; i < n; i++) {
                        sb.append((char) (r[0] + rnd.nextInt(r[1] - r[0] + 1)));
                    }
                }
                case 14 -> {
                    if (specials) {
                        sb.append(SPECIAL_TEXT[rnd.nextInt(SPECIAL_TEXT.length)]);
                    }
                }
                case 15 -> {
                    if (loneSurrogates) {
                        sb.append((char) (0xD800 + rnd.nextInt(0x800)));
                    }
                }
                default -> sb.append(' ');
            }
        }
        return sb.toString();
    }

    /** Unpaired surrogates replaced by U+FFFD, pairs kept: what a byte-level round trip must give. */
    static String withReplacedSurrogates(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else {
                sb.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return sb.toString();
    }

    /** The encoding built word by word with the uncached path. */
    private static int[] uncached(BpeTokenizer tok, String text) {
        IntList out = new IntList();
        WordSplitter.split(tok.model().mode(), text, (s, e) -> {
            for (int id : tok.encodeWord(text.substring(s, e))) {
                out.add(id);
            }
        });
        return out.toArray();
    }

    private static int[] concat(int[]... parts) {
        IntList out = new IntList();
        for (int[] p : parts) {
            for (int id : p) {
                out.add(id);
            }
        }
        return out.toArray();
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void byteModeRoundTripsRandomUnicode() {
        Random rnd = new Random(20240601);
        int withSurrogates = 0;
        for (int t = 0; t < 20_000; t++) {
            String s = randomText(rnd, brown, true, false);
            int[] ids = bytes.encode(s);
            assertEquals(s, bytes.decode(ids), () -> "text " + Arrays.toString(s.codePoints().toArray()));
            for (int id : ids) {
                assertTrue(id >= S && id < bytes.vocabSize(), "ordinary text gave special or bad id " + id);
            }
            // with special recognition the text still round trips; with skipping, the specials' strings vanish
            int[] withSpecial = bytes.encode(s, true);
            assertEquals(s, bytes.decode(withSpecial));
            assertEquals(SPECIALS_RE.matcher(s).replaceAll(""), bytes.decode(withSpecial, true));
            if (t % 4 == 0) {
                String u = randomText(rnd, brown, true, true);
                String expected = withReplacedSurrogates(u);
                if (!expected.equals(u)) {
                    withSurrogates++;
                }
                assertEquals(expected, bytes.decode(bytes.encode(u)));
                assertEquals(expected, bytes.decode(bytes.encode(u, true)));
            }
        }
        assertTrue(withSurrogates > 1000, "only " + withSurrogates + " strings had unpaired surrogates");
    }

    @Test
    void unpairedSurrogatesEncodeAsReplacementCharacter() {
        int[] fffd = bytes.encode("\uFFFD");
        assertArrayEquals(fffd, bytes.encode("\uD800"));
        assertArrayEquals(fffd, bytes.encode("\uDFFF"));
        assertEquals("a\uFFFDb", bytes.decode(bytes.encode("a\uD83Db")));
        assertEquals("\uFFFD\uFFFD", bytes.decode(bytes.encode("\uDC00\uD800"))); // reversed pair: two lone halves
        assertEquals("x\uD83D\uDE00", bytes.decode(bytes.encode("x\uD83D\uDE00"))); // a real pair survives
        // char-eow: an unpaired surrogate is the character U+FFFD (unknown here, as the corpus has none)
        assertArrayEquals(chars.encode("\uFFFD"), chars.encode("\uD800"));
        assertArrayEquals(new int[] {1}, chars.encode("\uDC00"));
        assertArrayEquals(chars.encode("a\uFFFDb"), chars.encode("a\uDC00b"));
    }

    @Test
    void byteModeRoundTripsEdgeStrings() {
        List<String> edge = List.of("", " ", "  ", "\n", "\r\n", "\t \t", "\u0000", "\u0000\u001F\u007F",
            " \u00A0 ", "\u2028\u2029", "\u3000x\u3000", "e\u0301", "\u0301", "'s", "''ll", " 's", "don't", "  x",
            "x  ", "\uFEFF", "\uD83D\uDC4D\uD83C\uDFFF", "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67",
            "\u0645\u0631\u062D\u0628\u0627 \u05E9\u05DC\u05D5\u05DD", "\uDBFF\uDFFF", "\uD800\uDC00", "[EOS",
            "<extra_id_100>", "<extra_id_7", "a".repeat(300), " ".repeat(300), "\uD83D\uDE00".repeat(200));
        for (String s : edge) {
            assertEquals(s, bytes.decode(bytes.encode(s)), s);
            assertEquals(s, bytes.decode(bytes.encode(s, true)), s);
        }
        assertArrayEquals(new int[0], bytes.encode(""));
        assertEquals("", bytes.decode(new int[0]));
    }

    // ---------------------------------------------------------------- special tokens

    @Test
    void specialTokensTakeTheFirstIdsAndAreNeverMerged() {
        for (BpeTokenizer tok : List.of(bytes, chars)) {
            BpeModel m = tok.model();
            for (int i = 0; i < S; i++) {
                assertEquals(SpecialTokens.DEFAULT.tokens().get(i), m.token(i));
                assertEquals(i, tok.id(SpecialTokens.DEFAULT.tokens().get(i)));
            }
            for (int id = S; id < m.vocabSize(); id++) {
                // neither the token string (the files' spelling) nor, in byte mode, the text it stands for
                assertFalse(SpecialTokens.DEFAULT.contains(m.token(id)), "id " + id + " is '" + m.token(id) + "'");
                assertFalse(SpecialTokens.DEFAULT.contains(new String(m.tokenBytes(id), StandardCharsets.UTF_8)),
                    "id " + id + " stands for '" + m.token(id) + "'");
            }
            for (int r = 0; r < m.mergeCount(); r++) {
                assertTrue(m.mergeLeft(r) >= S && m.mergeRight(r) >= S && m.mergeResult(r) >= S, "merge " + r);
            }
        }
        // the corpus held "x[EOS]y" 300 times: in char-eow (whole words) the merges reached "[EOS" but not "[EOS]"
        assertTrue(chars.id("[EOS") >= S, "the corpus did not tempt the trainer");
        assertEquals(EOS, chars.id("[EOS]"));
    }

    @Test
    void specialStringsAreOrdinaryTextUnlessAllowed() {
        for (BpeTokenizer tok : List.of(bytes, chars)) {
            int[] plain = tok.encode("[EOS]");
            // byte mode: GPT-2 splitting makes it 3 words; char-eow: one word, which may merge up to "[EOS]</w>"
            assertTrue(plain.length >= (tok == bytes ? 3 : 1), "[EOS] as text: " + Arrays.toString(plain));
            for (int id : plain) {
                assertTrue(id >= S, "ordinary [EOS] gave special id " + id);
            }
            assertArrayEquals(plain, tok.encode("[EOS]", false));
            assertEquals("[EOS]", tok.decode(plain));
            assertArrayEquals(new int[] {EOS}, tok.encode("[EOS]", true));
            assertArrayEquals(new int[] {7 + 7}, tok.encode("<extra_id_7>", true));
            assertEquals(SpecialTokens.DEFAULT.idOf("<extra_id_99>"), tok.encode("<extra_id_99>", true)[0]);
            assertArrayEquals(new int[] {5, 6}, tok.encode("[CLS][SEP]", true));
            assertArrayEquals(new int[] {5, 6, 5}, tok.encode("[CLS][SEP][CLS]", true));
            // the text around a special is encoded on its own: nothing merges across the special
            assertArrayEquals(concat(tok.encode("x"), new int[] {EOS}, tok.encode("y")), tok.encode("x[EOS]y", true));
            assertArrayEquals(concat(tok.encode("a"), new int[] {2}, tok.encode(" b c"), new int[] {EOS}),
                tok.encode("a[BOS] b c[EOS]", true));
            // near misses stay text (char-eow may still give [UNK], e.g. for "[" alone, never seen as a word)
            for (String s : List.of("[EOS", "EOS]", "[eos]", "<extra_id_100>", "<extra_id_>", "[ EOS]")) {
                for (int id : tok.encode(s, true)) {
                    assertTrue(id >= S || (tok == chars && id == 1), s + " gave special id " + id);
                }
            }
        }
    }

    @Test
    void decodeRestoresSpecialTokensAndCanSkipThem() {
        String text = "[BOS]Hello, world![SEP] second <extra_id_0> part[EOS][PAD][PAD]";
        int[] ids = bytes.encode(text, true);
        assertEquals(text, bytes.decode(ids));
        assertEquals(text, bytes.decode(ids, false));
        assertEquals("Hello, world! second  part", bytes.decode(ids, true));
        assertEquals(6, Arrays.stream(ids).filter(id -> id < S).count());
        // char-eow: words (and specials) are separated by one space
        int[] c = chars.encode(text, true);
        assertEquals("[BOS] Hello, world! [SEP] second <extra_id_0> part [EOS] [PAD] [PAD]", chars.decode(c));
        assertEquals("Hello, world! second part", chars.decode(c, true));
    }

    @Test
    void overlappingSpecialTokensMatchLeftmostLongest() {
        SpecialTokens specials = SpecialTokens.parse("[UNK],ab,abc,bcd");
        Map<String, Long> words = BpeTestSupport.countWords(BpeMode.BYTE, List.of("xyz abc bcd ab"));
        BpeTokenizer tok = new BpeTokenizer(BpeTestSupport.train(BpeMode.BYTE, words, 4 + 256 + 5, 1, specials)
            .model());
        assertArrayEquals(concat(tok.encode("x"), new int[] {2}, tok.encode("d")), tok.encode("xabcd", true));
        assertArrayEquals(new int[] {2}, tok.encode("abc", true));
        assertArrayEquals(concat(new int[] {2}, tok.encode("d")), tok.encode("abcd", true));
        assertArrayEquals(new int[] {1, 1}, tok.encode("abab", true));
        assertArrayEquals(concat(new int[] {1}, tok.encode("x"), new int[] {3}), tok.encode("abxbcd", true));
    }

    // ---------------------------------------------------------------- char-eow

    @Test
    void charEowUnseenCharactersAreUnknown() {
        BpeModel m = chars.model();
        int unk = m.unkId();
        assertEquals(1, unk);
        for (String c : List.of("\u2603", "\u4E2D", "\uD83D\uDE00", "\u00DF", "\u0416")) {
            assertEquals(-1, m.id(c), c + " was in the training corpus");
            assertEquals(-1, m.id(c + BpeMode.END_OF_WORD), c + " was in the training corpus");
            assertArrayEquals(new int[] {unk}, chars.encode(c));
            assertArrayEquals(new int[] {unk, unk}, chars.encode(c + c)); // no fusing
            // an unknown character splits nothing else: known neighbours keep their base symbols
            assertArrayEquals(new int[] {m.id("a"), unk, m.id("b</w>")}, chars.encode("a" + c + "b"));
            // [UNK] decodes inside its word (as HF's BPEDecoder); other special tokens stand as words
            assertEquals("a[UNK]b", chars.decode(chars.encode("a" + c + "b")));
            assertEquals("a", chars.decode(chars.encode("a" + c + "b"), true).substring(0, 1));
        }
        assertEquals("[CLS] the cat [SEP]", chars.decode(chars.encode("[CLS] the cat [SEP]", true)));
        // byte mode never needs [UNK]
        for (int id : bytes.encode("\u2603\u4E2D\uD83D\uDE00")) {
            assertNotEquals(unk, id);
        }
    }

    @Test
    void charEowDecodeJoinsWordsWithOneSpace() {
        Pattern ws = Pattern.compile("[\\s\\u0085\\u00A0\\u2028\\u2029\\u3000]+", Pattern.UNICODE_CHARACTER_CLASS);
        for (String line : brown.subList(0, 2000)) {
            String expected = String.join(" ", Arrays.stream(ws.split(line.strip())).filter(w -> !w.isEmpty())
                .toList());
            assertEquals(expected, chars.decode(chars.encode(line)), line);
        }
        assertEquals("the cat sat on", chars.decode(chars.encode("  the \t cat\nsat\u3000\u00A0on\r\n")));
        assertEquals("", chars.decode(chars.encode(" \t\n ")));
    }

    // ---------------------------------------------------------------- batch, threads, cache

    @Test
    void batchEqualsSequential() {
        Random rnd = new Random(5);
        List<String> texts = new ArrayList<>(brown.subList(0, 1000));
        for (int i = 0; i < 1000; i++) {
            texts.add(randomText(rnd, brown, true, true));
        }
        for (BpeTokenizer tok : List.of(bytes, chars)) {
            for (boolean allow : new boolean[] {false, true}) {
                List<int[]> batch = tok.encodeBatch(texts, allow);
                assertEquals(texts.size(), batch.size());
                for (int i = 0; i < texts.size(); i++) {
                    assertArrayEquals(tok.encode(texts.get(i), allow), batch.get(i), texts.get(i));
                }
            }
        }
    }

    @Test
    void concurrentEncodingEqualsSingleThreaded() throws Exception {
        Random rnd = new Random(8);
        List<String> texts = new ArrayList<>(BpeTestSupport.brownLines(9000).subList(5000, 9000));
        for (int i = 0; i < 2000; i++) {
            texts.add(randomText(rnd, List.of(), true, true));
        }
        for (BpeMode mode : BpeMode.values()) {
            BpeModel model = (mode == BpeMode.BYTE ? bytes : chars).model();
            BpeTokenizer reference = new BpeTokenizer(model);
            Map<String, int[]> expected = new HashMap<>();
            for (String t : texts) {
                expected.put(t, reference.encode(t, true));
            }
            BpeTokenizer shared = new BpeTokenizer(model); // cold caches, filled by 8 threads at once
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Integer>> done = new ArrayList<>();
                for (int th = 0; th < 8; th++) {
                    List<String> mine = new ArrayList<>(texts);
                    Collections.shuffle(mine, new Random(th));
                    done.add(pool.submit(() -> {
                        start.await();
                        int checked = 0;
                        for (String t : mine) {
                            int[] got = shared.encode(t, true);
                            if (!Arrays.equals(expected.get(t), got)) {
                                throw new AssertionError(mode + ": concurrent encoding differs for " + t);
                            }
                            checked++;
                        }
                        return checked;
                    }));
                }
                start.countDown();
                for (Future<Integer> f : done) {
                    assertEquals(texts.size(), f.get());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void cacheDoesNotChangeResults() {
        Random rnd = new Random(13);
        for (BpeMode mode : BpeMode.values()) {
            BpeModel model = (mode == BpeMode.BYTE ? bytes : chars).model();
            BpeTokenizer warm = new BpeTokenizer(model);
            for (String line : brown) {
                warm.encode(line); // fill the cache
            }
            for (int i = 0; i < 3000; i++) {
                String t = i < 1000 ? brown.get(i) : randomText(rnd, brown, false, true);
                int[] first = warm.encode(t);
                assertArrayEquals(first, warm.encode(t), t);
                if (i % 10 == 0) {
                    assertArrayEquals(new BpeTokenizer(model).encode(t), first, t);
                }
                assertArrayEquals(uncached(warm, t), first, t);
            }
        }
    }

    @Test
    void encodingStaysCorrectOnceTheCacheIsFull() {
        BpeTokenizer tok = new BpeTokenizer(bytes.model());
        Random rnd = new Random(21);
        List<String> words = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < BpeTokenizer.CACHE_CAPACITY + 10_000; i++) {
            sb.setLength(0);
            sb.append(' ');
            int n = 4 + rnd.nextInt(8);
            for (int k = 0; k < n; k++) {
                sb.append((char) ('a' + rnd.nextInt(26)));
            }
            words.add(sb.toString());
        }
        for (String w : words) {
            tok.encode(w);
        }
        for (int i = words.size() - 2000; i < words.size(); i++) { // words seen after the cache filled up
            String w = words.get(i);
            assertArrayEquals(tok.encodeWord(w), tok.encode(w), w);
            assertEquals(w, tok.decode(tok.encode(w)));
        }
    }

    // ---------------------------------------------------------------- long lines

    @Test
    void longLineWithoutSpacesIsCutIntoWordsAndRoundTrips() {
        // 2 MB of letters (ASCII plus supplementary Deseret letters, so many 256-char cuts fall inside a pair)
        Random rnd = new Random(3);
        StringBuilder sb = new StringBuilder(2_100_000);
        while (sb.length() < 2_000_000) {
            if (rnd.nextInt(7) == 0) {
                sb.appendCodePoint(0x10400 + rnd.nextInt(0x50));
            } else {
                sb.append((char) ('a' + rnd.nextInt(26)));
            }
        }
        String line = sb.toString();
        for (BpeMode mode : BpeMode.values()) {
            int[] n = {0};
            WordSplitter.preTokenizer(mode).split(line, (s, e) -> n[0]++);
            assertEquals(1, n[0], "the line must be a single pre-token");
        }
        List<int[]> spans = new ArrayList<>();
        WordSplitter.split(BpeMode.BYTE, line, (s, e) -> spans.add(new int[] {s, e}));
        int pos = 0;
        int moved = 0;
        for (int[] sp : spans) {
            assertEquals(pos, sp[0]);
            assertTrue(sp[1] - sp[0] <= WordSplitter.MAX_WORD_CHARS && sp[1] > sp[0], "span " + Arrays.toString(sp));
            assertFalse(Character.isHighSurrogate(line.charAt(sp[1] - 1)) && sp[1] < line.length()
                && Character.isLowSurrogate(line.charAt(sp[1])), "cut inside a surrogate pair at " + sp[1]);
            if (sp[1] - sp[0] == WordSplitter.MAX_WORD_CHARS - 1) {
                moved++;
            }
            pos = sp[1];
        }
        assertEquals(line.length(), pos);
        assertTrue(moved > 100, "only " + moved + " cuts had to avoid a surrogate pair");

        for (BpeTokenizer tok : List.of(bytes, chars)) {
            int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> tok.encode(line));
            // the ids are those of the 256-char words encoded one by one: merges never cross a cut
            IntList expected = new IntList();
            for (int[] sp : spans) {
                for (int id : tok.encodeWord(line.substring(sp[0], sp[1]))) {
                    expected.add(id);
                }
            }
            assertArrayEquals(expected.toArray(), ids);
        }
        assertEquals(line, bytes.decode(bytes.encode(line)));
    }

        // ---------------------------------------------------------------- merges and ids

    @Test
    void aMergeResultEncodesAsItselfWhenItIsAWholeWord() {
        // For a token t made by merge r, the BPE run on t's bytes alone repeats the run inside any word that t came
        // from (no symbol ever crosses t's boundary before r), so t alone encodes as [t]. That is checkable when t's
        // bytes are valid UTF-8 and its text is exactly one word; other results (a partial UTF-8 character, or text
        // that pre-tokenizes into several words, like "'l" from "'ll") cannot be fed to encode alone.
        // a second byte model, trained on random Unicode, has many results of the other kinds
        Random rnd = new Random(31);
        List<String> unicode = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            unicode.add(randomText(rnd, List.of(), false, false));
        }
        BpeTokenizer random = new BpeTokenizer(BpeTestSupport.train(BpeMode.BYTE,
            BpeTestSupport.countWords(BpeMode.BYTE, unicode), S + 256 + 1500, 2, SpecialTokens.DEFAULT).model());
        for (BpeTokenizer tok : List.of(bytes, random)) {
            BpeModel m = tok.model();
            int checked = 0;
            int partialUtf8 = 0;
            for (int r = 0; r < m.mergeCount(); r++) {
                int z = m.mergeResult(r);
                String text = strictUtf8(m.tokenBytes(z));
                if (text == null) {
                    partialUtf8++;
                } else if (isOneWord(BpeMode.BYTE, text)) {
                    assertArrayEquals(new int[] {z}, tok.encode(text), "merge " + r + " '" + m.token(z) + "'");
                    checked++;
                }
            }
            assertTrue(checked > (tok == bytes ? 0.9 : 0.5) * m.mergeCount(),
                checked + " checked, " + partialUtf8 + " partial UTF-8, of " + m.mergeCount());
        }

        // char-eow: a result ending in </w> is a whole word; the others cannot end a word
        BpeModel m = chars.model();
        int checked = 0;
        for (int r = 0; r < m.mergeCount(); r++) {
            int z = m.mergeResult(r);
            String t = m.token(z);
            if (t.endsWith(BpeMode.END_OF_WORD)) {
                String word = t.substring(0, t.length() - BpeMode.END_OF_WORD.length());
                assertTrue(isOneWord(BpeMode.CHAR_EOW, word), word);
                assertArrayEquals(new int[] {z}, chars.encode(word), "merge " + r + " '" + t + "'");
                checked++;
            }
        }
        assertTrue(checked > 0.3 * m.mergeCount(), checked + " checked");
    }

    @Test
    void encodingFollowsMergeRanksOnAKnownExample() {
        // minbpe's known answer, and a word where rank order, not left-to-right order, decides
        SpecialTokens none = new SpecialTokens(List.of());
        BpeModel m = BpeTestSupport.train(BpeMode.BYTE, Map.of("aaabdaaabac", 1L), 259, 1, none).model();
        assertArrayEquals(new int[] {258, 'd', 258, 'a', 'c'}, new BpeTokenizer(m).encode("aaabdaaabac"));
        // merges: (b,c) first (count 3), then (a,b) (count 2): "abc" must become [a, bc], not [ab, c]
        Map<String, Long> words = new HashMap<>();
        words.put("bc", 3L);
        words.put("ab", 2L);
        BpeModel m2 = BpeTestSupport.train(BpeMode.BYTE, words, 258, 1, none).model();
        assertEquals("bc", m2.token(256));
        assertEquals("ab", m2.token(257));
        assertArrayEquals(new int[] {'a', 256}, new BpeTokenizer(m2).encode("abc"));
        assertArrayEquals(new int[] {257, 256}, new BpeTokenizer(m2).encode("abbc"));
    }

    @Test
    void decodeRejectsOutOfRangeIds() {
        for (BpeTokenizer tok : List.of(bytes, chars)) {
            for (int bad : new int[] {-1, tok.vocabSize(), Integer.MAX_VALUE, Integer.MIN_VALUE}) {
                for (boolean skip : new boolean[] {false, true}) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> tok.decode(new int[] {S, bad, S}, skip));
                    assertTrue(e.getMessage().contains(String.valueOf(bad)), e.getMessage());
                }
            }
            assertFalse(tok.decode(new int[] {0, tok.vocabSize() - 1}).isEmpty()); // both ends of the range are fine
        }
    }

    /** The text of bytes when they are valid UTF-8, else null. */
    static String strictUtf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Whether the splitter of a mode gives exactly one word, the whole text. */
    static boolean isOneWord(BpeMode mode, String text) {
        List<int[]> spans = new ArrayList<>();
        WordSplitter.split(mode, text, (s, e) -> spans.add(new int[] {s, e}));
        return spans.size() == 1 && spans.get(0)[0] == 0 && spans.get(0)[1] == text.length();
    }

}
