package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.tokenizer.SpecialTokens;

/**
 * Our tokenizer.json, loaded by the HuggingFace tokenizers library itself (the Rust implementation, through DJL's
 * JNI binding), gives the same ids as {@link BpeTokenizer} and decodes our ids back to the text.
 *
 * <p>The binding's jar bundles the native library; the test runs DJL offline, which makes it extract that library
 * from the classpath (never download it) and skips DJL's telemetry call. Inputs exclude unpaired surrogates (a Rust
 * string cannot hold one; the JNI conversion would already have replaced it) and pre-tokens longer than
 * {@link WordSplitter#MAX_WORD_CHARS} (we cut them, HuggingFace does not).
 */
class HuggingFaceCompatTest {
    static {
        // before any DJL class loads: no download, no telemetry, native library cached under target/
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("ENGINE_CACHE_DIR", Path.of("target", "djl-cache").toAbsolutePath().toString());
    }

    private static final int S = SpecialTokens.DEFAULT.size();
    /** Encode exactly the text: no post-processor special tokens, no truncation at 512, no padding. */
    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false",
        "padding", "false");

    @TempDir
    static Path dir;

    private static List<String> brown;
    private static BpeTokenizer bytes;
    private static BpeTokenizer chars;
    private static HuggingFaceTokenizer hfBytes;
    private static HuggingFaceTokenizer hfChars;

    @BeforeAll
    static void trainAndLoad() throws IOException {
        brown = BpeTestSupport.brownLines(Integer.MAX_VALUE);
        Map<String, Long> byteWords = BpeTestSupport.countWords(BpeMode.BYTE, brown);
        bytes = new BpeTokenizer(BpeTestSupport.train(BpeMode.BYTE, byteWords, S + 256 + 3000, 2,
            SpecialTokens.DEFAULT).model());
        Map<String, Long> charWords = BpeTestSupport.countWords(BpeMode.CHAR_EOW, brown);
        Set<String> alphabet = new HashSet<>();
        charWords.keySet().forEach(w -> alphabet.addAll(ReferenceBpe.charSymbols(w)));
        chars = new BpeTokenizer(BpeTestSupport.train(BpeMode.CHAR_EOW, charWords, S + alphabet.size() + 3000, 2,
            SpecialTokens.DEFAULT).model());
        TokenizerFiles.save(bytes.model(), dir.resolve("byte"));
        TokenizerFiles.save(chars.model(), dir.resolve("char-eow"));
        hfBytes = HuggingFaceTokenizer.newInstance(dir.resolve("byte").resolve(TokenizerFiles.TOKENIZER_JSON), OPTIONS);
        hfChars = HuggingFaceTokenizer.newInstance(dir.resolve("char-eow").resolve(TokenizerFiles.TOKENIZER_JSON),
            OPTIONS);
    }

    @AfterAll
    static void close() {
        if (hfBytes != null) {
            hfBytes.close();
        }
        if (hfChars != null) {
            hfChars.close();
        }
    }

    private static int[] hf(HuggingFaceTokenizer tok, String text) {
        return Arrays.stream(tok.encode(text, false, false).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    private static String hfDecode(HuggingFaceTokenizer tok, int[] ids) {
        return tok.decode(Arrays.stream(ids).asLongStream().toArray(), false);
    }

    /** Whether every GPT-2 pre-token is at most MAX_WORD_CHARS long (so our cut does not apply). */
    private static boolean noLongPreTokens(String text) {
        boolean[] ok = {true};
        WordSplitter.preTokenizer(BpeMode.BYTE).split(text, (s, e) -> ok[0] &= e - s <= WordSplitter.MAX_WORD_CHARS);
        return ok[0];
    }

    private static String describe(String text) {
        StringBuilder sb = new StringBuilder("\"");
        text.codePoints().forEach(cp -> sb.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp)
            : String.format("\\u{%X}", cp)));
        return sb.append('"').toString();
    }

    /** Compares ids (and optionally HF's decoding of our ids) on every text; fails listing the first differences. */
    private static void compare(String what, List<String> texts, BpeTokenizer ours, HuggingFaceTokenizer theirs,
                                boolean allowSpecial, boolean checkDecode) {
        List<String> diffs = new ArrayList<>();
        int n = 0;
        for (String t : texts) {
            int[] a = ours.encode(t, allowSpecial);
            int[] b = hf(theirs, t);
            if (!Arrays.equals(a, b)) {
                diffs.add(describe(t) + "\n  ours " + Arrays.toString(a) + "\n  HF   " + Arrays.toString(b));
            } else if (checkDecode && !hfDecode(theirs, a).equals(t)) {
                diffs.add(describe(t) + " HF decodes our ids as " + describe(hfDecode(theirs, a)));
            }
            n++;
        }
        assertTrue(diffs.isEmpty(), what + ": " + diffs.size() + " of " + n + " texts differ, e.g.\n"
            + String.join("\n", diffs.subList(0, Math.min(10, diffs.size()))));
    }

    private static List<String> brownSample(int count) {
        List<String> out = new ArrayList<>();
        int step = brown.size() / count;
        for (int i = 0; i < count; i++) {
            out.add(brown.get(i * step));
        }
        return out;
    }

    @Test
    void theLibraryLoadsOurFilesAsConfigured() {
        assertEquals("DO_NOT_TRUNCATE", hfBytes.getTruncation());
        assertEquals("DO_NOT_PAD", hfBytes.getPadding());
        assertEquals(bytes.vocabSize(), bytes.model().vocab().size());
        // a text of thousands of tokens comes back whole (DJL would otherwise truncate at 512)
        String longText = String.join(" ", brown.subList(0, 200));
        int[] ours = bytes.encode(longText);
        assertTrue(ours.length > 2000, "only " + ours.length + " tokens");
        assertArrayEquals(ours, hf(hfBytes, longText));
        // the ids HF assigns to a few tokens agree with our vocabulary
        assertArrayEquals(new int[] {bytes.id("Ġthe")}, hf(hfBytes, " the"));
        assertArrayEquals(new int[] {3}, hf(hfBytes, "[EOS]"));
    }

    @Test
    void byteModeEqualsOnTheCorpus() {
        compare("Brown lines", brownSample(2000), bytes, hfBytes, false, true);
    }

    @Test
    void byteModeEqualsOnRandomUnicode() {
        Random rnd = new Random(777);
        List<String> texts = new ArrayList<>();
        int skipped = 0;
        while (texts.size() < 2000) {
            String t = BpeTokenizerTest.randomText(rnd, brown.subList(0, 5000), false, false);
            if (noLongPreTokens(t)) {
                texts.add(t);
            } else {
                skipped++;
            }
        }
        assertTrue(skipped < 100, skipped + " texts had a pre-token over " + WordSplitter.MAX_WORD_CHARS + " chars");
        compare("random Unicode", texts, bytes, hfBytes, false, true);
    }

    @Test
    void byteModeEqualsOnEdgeStrings() {
        List<String> texts = new ArrayList<>();
        for (int c = 0; c < 0x20; c++) {
            texts.add("a" + (char) c + "b");
            texts.add("a " + (char) c + " b");
            texts.add((char) c + "" + (char) c + " x");
        }
        for (char c : new char[] {'\u0085', '\u00A0', '\u1680', '\u2000', '\u2007', '\u200A', '\u200B', '\u2028',
            '\u2029', '\u202F', '\u205F', '\u3000', '\uFEFF', '\u180E', '\u001C', '\u001F'}) {
            texts.add("a" + c + "b");
            texts.add("a " + c + "b");
            texts.add("a" + c + " b");
            texts.add("a" + c + c + "b");
            texts.add("a  " + c + "  b" + c);
        }
        texts.addAll(List.of("", " ", "  ", "   x", "x   ", "\n\n\nx", "x\n\n\n", "\r\n\r\n", "don't", "DON'T",
            "we'll've", "'s's", " 's", "''", "'", "1234567", " 12 345", "e\u0301", "\u0301\u0301", "\u05D0\u05B0",
            "\uD83D\uDC68\u200D\uD83D\uDC69", "\uD83D\uDC4D\uD83C\uDFFD", "Ⅻ ½ ² ٣", "\u0000", "[EOS",
            "<extra_id_"));
        compare("edge strings", texts, bytes, hfBytes, false, true);
    }

    @Test
    void byteModeEqualsWithSpecialTokens() {
        // HuggingFace always recognises added tokens: compare with encode(text, true)
        Random rnd = new Random(4242);
        List<String> texts = new ArrayList<>(List.of("[EOS]", "[CLS][SEP]", "x[EOS]y", " [BOS] hello [EOS] ",
            "<extra_id_0><extra_id_99>", "[PAD][PAD][PAD]", "a<extra_id_7>b", "[EOS", "<extra_id_100>"));
        while (texts.size() < 1000) {
            String t = BpeTokenizerTest.randomText(rnd, brown.subList(0, 5000), true, false);
            if (noLongPreTokens(t)) {
                texts.add(t);
            }
        }
        compare("text with special tokens", texts, bytes, hfBytes, true, true);
        for (String t : texts) { // skipping special tokens when decoding
            int[] ids = bytes.encode(t, true);
            assertEquals(bytes.decode(ids, true), hfBytes.decode(Arrays.stream(ids).asLongStream().toArray(), true), t);
        }
    }

    @Test
    void charEowEqualsOnTheCorpus() {
        compare("char-eow Brown lines", brownSample(2000), chars, hfChars, false, false);
        // decoding: words joined by single spaces on both sides
        for (String line : brownSample(500)) {
            int[] ids = chars.encode(line);
            assertEquals(chars.decode(ids), hfDecode(hfChars, ids), line);
        }
    }

    @Test
    void charEowUnknownCharactersAreUnknownForBoth() {
        List<String> texts = List.of("naïve café", "北京 is a city", "x☃y ☃ ☃☃", "Ωmega and omegaΩ",
            "emoji \uD83D\uDE00 here", "tab\there\u3000ideographic\u00A0space\u2028æ", "ß", "the end.\u2603");
        for (String t : texts) {
            assertTrue(Arrays.stream(chars.encode(t)).anyMatch(id -> id == 1), "no [UNK] in " + t);
        }
        compare("char-eow unseen characters", texts, chars, hfChars, false, false);
        Random rnd = new Random(99);
        List<String> random = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            random.add(BpeTokenizerTest.randomText(rnd, brown.subList(0, 5000), false, false));
        }
        compare("char-eow random Unicode", random, chars, hfChars, false, false);
    }

    @Test
    void charEowEqualsWithSpecialTokens() {
        List<String> texts = List.of("[CLS] the cat [SEP] sat [EOS]", "x[EOS]y", "[CLS][SEP]", "<extra_id_5> end");
        compare("char-eow special tokens", texts, chars, hfChars, true, false);
    }
}
