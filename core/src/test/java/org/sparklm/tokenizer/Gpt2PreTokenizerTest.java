package org.sparklm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Gpt2PreTokenizerTest {

    private static final Gpt2PreTokenizer PT = Gpt2PreTokenizer.INSTANCE;

    /** Spans as "start-end" strings, from the scanner. */
    private static List<String> scannerSpans(CharSequence text) {
        List<String> spans = new ArrayList<>();
        PT.split(text, (s, e) -> spans.add(s + "-" + e));
        return spans;
    }

    /** Spans as "start-end" strings, from the reference regex. */
    private static List<String> regexSpans(CharSequence text) {
        List<String> spans = new ArrayList<>();
        Matcher m = Gpt2PreTokenizer.REGEX.matcher(text);
        while (m.find()) {
            spans.add(m.start() + "-" + m.end());
        }
        return spans;
    }

    private static void assertSameAsRegex(String text) {
        assertEquals(regexSpans(text), scannerSpans(text), () -> "text: " + escape(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "   ", "\t", "\n\n", "don't", "'s'S", "I'll", "we're they've I'm he'd", "'", "''s", "'re'", "'l", "'ll",
        "  hello", "a  b", "a   b", "x\t\ty", "tab\tword", "tab \tword", "trailing   ", "trailing \t", " leading",
        "abc123def", "3.14", "1,000,000", "\uD83D\uDC4D\uD83C\uDFFD", "hi \uD83D\uDC4D\uD83C\uDFFD!", "日本語のテキスト",
        "漢字 かな", "e\u0301t\u00E9", "caf\u00E9 na\u0308ive", "مرحبا بالعالم ١٢٣", "a\u00A0b", "a \u00A0b", "a\u00A0 b",
        "line\u2028sep", "ideo\u3000space", "\u3000\u3000x", "\uD800x", "x\uDC00", "\uDC00\uD800", "a \uD800",
        "\uD800\uD800\uDC00b", " \uDBFF", "Hello, world! It's 2024... (and  \"more\")\n\nOK?", "x\r\ny",
        "\u0085\u0085z", "\u001Cx\u001F", "²½ ⅫⅣ x²", "$100 - 50% = ?!", "  \n  text  \n", "snake_case_word",
    })
    void matchesRegexOnEdgeCases(String text) {
        assertSameAsRegex(text);
    }

    @Test
    void knownAnswers() {
        assertEquals(List.of("Hello", ",", " world", "!", " It", "'s", " 2024", "..."),
                PT.split("Hello, world! It's 2024..."));
        assertEquals(List.of(" ", " hello"), PT.split("  hello"));
        assertEquals(List.of("x", "\t", "\t", "y"), PT.split("x\t\ty"));
        assertEquals(List.of("a", "  ", " b", "   "), PT.split("a   b   "));
        assertEquals(List.of("don", "'t", " stop"), PT.split("don't stop"));
        assertEquals(List.of("'", "S"), PT.split("'S"));
        assertEquals(List.of("abc", "123", "def"), PT.split("abc123def"));
        assertEquals(List.of("\uD800", "x"), PT.split("\uD800x"));
        assertEquals(List.of(), PT.split(""));
    }

    @Test
    void acceptsAnyCharSequence() {
        String text = "It's a\u00A0test  \uD83D\uDC4D 42";
        assertEquals(PT.split(text), PT.split(new StringBuilder(text)));
    }

    /** Seeded random strings over the tricky alphabet; every split must equal the regex's. */
    @Test
    void matchesRegexOnRandomStrings() {
        Random rnd = new Random(20240607L);
        for (int t = 0; t < 30_000; t++) {
            assertSameAsRegex(randomText(rnd, rnd.nextInt(32)));
        }
    }

    @Test
    void isThreadSafe() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                long seed = 1000 + w;
                futures.add(pool.submit(() -> {
                    Random rnd = new Random(seed);
                    for (int t = 0; t < 2_000; t++) {
                        assertSameAsRegex(randomText(rnd, rnd.nextInt(64)));
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * For every code point, the scanner's class agrees with the regex's {@code \s}, {@code \p{L}}, {@code \p{N}}
     * (UNICODE_CHARACTER_CLASS); a lone surrogate is tested as a one-char string.
     */
    @Test
    void classificationMatchesRegexForAllCodePoints() {
        int flags = Pattern.UNICODE_CHARACTER_CLASS;
        Matcher space = Pattern.compile("\\s", flags).matcher("");
        Matcher letter = Pattern.compile("\\p{L}", flags).matcher("");
        Matcher number = Pattern.compile("\\p{N}", flags).matcher("");
        int mismatches = 0;
        StringBuilder firstFew = new StringBuilder();
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            String s = new String(Character.toChars(cp));
            int expected = space.reset(s).matches() ? Gpt2PreTokenizer.SPACE
                    : letter.reset(s).matches() ? Gpt2PreTokenizer.LETTER
                    : number.reset(s).matches() ? Gpt2PreTokenizer.NUMBER
                    : Gpt2PreTokenizer.OTHER;
            if (Gpt2PreTokenizer.classOf(cp) != expected && mismatches++ < 10) {
                firstFew.append(String.format("U+%04X ", cp));
            }
        }
        if (mismatches > 0) {
            fail(mismatches + " code points classified differently from the regex, e.g. " + firstFew);
        }
    }

    @Test
    void whitespaceSetIsJavasUnicodeWhiteSpace() {
        StringBuilder ws = new StringBuilder();
        for (int c = 0; c <= Character.MAX_VALUE; c++) {
            if (Gpt2PreTokenizer.isWhitespace((char) c)) {
                ws.append(String.format("%04X ", c));
            }
        }
        assertEquals("0009 000A 000B 000C 000D 0020 0085 00A0 1680 2000 2001 2002 2003 2004 2005 2006 2007 2008 2009 "
                + "200A 2028 2029 202F 205F 3000 ", ws.toString());
    }

    private static final String[] PIECES = {
        "a", "Z", "hello", "The", "s", "t", "re", "ve", "ll", "d", "m", "S", "T", "'", "'", "''",
        " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u000B", "\u000C", "\u0085", "\u00A0", "\u1680", "\u2003", "\u2007",
        "\u2028", "\u2029", "\u202F", "\u205F", "\u3000", "\u001C", "\u001F", "\u200B", "\u180E",
        "é", "ß", "Ω", "дом", "שלום", "مرحبا", "नमस्ते", "日本", "語", "한국", "ไทย", "e\u0301", "\u0301", "\u0903",
        "0", "7", "42", "٣", "५", "²", "½", "Ⅻ", "〇", "\uD835\uDFCE", "\uD800\uDD07",
        ".", ",", "!", "?", "-", "_", "(", ")", "\"", "$", "%", "…", "—", "«", "»", "@", "#",
        "\uD83D\uDC4D", "\uD83C\uDFFD", "\uD83D\uDE00", "\uD835\uDC00", "\uD800\uDC00", "\uDB40\uDC01",
        "\uD800", "\uDBFF", "\uDC00", "\uDFFF",
    };

    /** Random text of the given number of pieces, with an occasional arbitrary code point or char. */
    static String randomText(Random rnd, int pieces) {
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < pieces; p++) {
            int r = rnd.nextInt(100);
            if (r < 3) {
                sb.appendCodePoint(rnd.nextInt(Character.MAX_CODE_POINT + 1));
            } else if (r < 5) {
                sb.append((char) rnd.nextInt(Character.MAX_VALUE + 1));
            } else {
                sb.append(PIECES[rnd.nextInt(PIECES.length)]);
            }
        }
        return sb.toString();
    }

    static String escape(String text) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            b.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\u%04X", (int) c));
        }
        return b.toString();
    }
}
