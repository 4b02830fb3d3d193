package org.sparklm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class WhitespacePreTokenizerTest {

    private static final WhitespacePreTokenizer PT = WhitespacePreTokenizer.INSTANCE;

    @Test
    void splitsOnWhitespaceAndDropsIt() {
        assertEquals(List.of("Hello,", "world!"), PT.split("Hello, world!"));
        assertEquals(List.of("a", "b", "c"), PT.split("  a\t\tb\r\nc  "));
        assertEquals(List.of("it's", "3.14"), PT.split("it's 3.14"));
        assertEquals(List.of("x", "y", "z", "w"), PT.split("x\u00A0y\u3000z\u2028w"));
        assertEquals(List.of(), PT.split(""));
        assertEquals(List.of(), PT.split(" \t\n\u0085 "));
    }

    @Test
    void keepsNonWhitespaceControlsAndSurrogates() {
        // U+001C..U+001F are Character.isWhitespace but not Unicode White_Space; U+200B is a format char.
        assertEquals(List.of("a\u001Cb", "c\u200Bd"), PT.split("a\u001Cb c\u200Bd"));
        assertEquals(List.of("\uD83D\uDC4D\uD83C\uDFFD", "\uD800x"), PT.split("\uD83D\uDC4D\uD83C\uDFFD \uD800x"));
    }

    @Test
    void spansMatchNonWhitespaceRunsOfTheRegex() {
        Pattern nonSpace = Pattern.compile("\\S+", Pattern.UNICODE_CHARACTER_CLASS);
        Random rnd = new Random(7);
        for (int t = 0; t < 5_000; t++) {
            String text = Gpt2PreTokenizerTest.randomText(rnd, rnd.nextInt(24));
            List<String> expected = new ArrayList<>();
            Matcher m = nonSpace.matcher(text);
            while (m.find()) {
                expected.add(m.start() + "-" + m.end());
            }
            List<String> actual = new ArrayList<>();
            PT.split(text, (s, e) -> actual.add(s + "-" + e));
            assertEquals(expected, actual, () -> Gpt2PreTokenizerTest.escape(text));
        }
    }
}
