package org.sparklm.tokenizer;

import java.util.regex.Pattern;

/**
 * The GPT-2 pre-tokenizer (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"; also
 * HuggingFace's {@code ByteLevel} pre-tokenizer): a hand-written single-pass scanner that yields exactly the matches
 * of {@link #REGEX} under {@link java.util.regex.Matcher#find()}, without regex overhead or per-token allocation.
 *
 * <p>At each position, in order: a case-sensitive ASCII contraction ({@code 's 't 're 've 'm 'll 'd}); an optional
 * U+0020 followed by a maximal run of letters ({@code \p{L}}), of numbers ({@code \p{N}}) or of "other" code points
 * (neither whitespace, letter nor number); otherwise a whitespace run. A whitespace run that is followed by
 * non-whitespace gives back its last char ({@code \s+(?!\S)}), which then starts the next pre-token (a space joins
 * the following word) or, if it is another whitespace char, is a pre-token of its own.
 *
 * <p>Character classes follow Java's regex with {@code UNICODE_CHARACTER_CLASS}: whitespace is U+0009..U+000D, U+0085
 * and the categories Zs, Zl, Zp (so U+00A0, U+2007, U+202F are whitespace, U+001C..U+001F are not); letters are
 * the categories Lu Ll Lt Lm Lo, numbers Nd Nl No. The text is read as code points like the regex does: a surrogate
 * pair is one code point and an unpaired surrogate is a code point of category Cs, i.e. "other".
 */
public final class Gpt2PreTokenizer implements PreTokenizer {

    /** The reference pattern this scanner reproduces (for tests and documentation; not used by {@link #split}). */
    public static final Pattern REGEX = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** The shared instance (stateless, thread-safe). */
    public static final Gpt2PreTokenizer INSTANCE = new Gpt2PreTokenizer();

    static final byte LETTER = 0;
    static final byte NUMBER = 1;
    static final byte OTHER = 2;
    static final byte SPACE = 3;
    /** Table-only marker: a high surrogate, whose class depends on the next char. */
    private static final byte HIGH = 4;

    /** Class of every BMP char, computed from this JVM's Unicode data so it agrees with its regex engine. */
    private static final byte[] CLASS = buildTable();

    private Gpt2PreTokenizer() {
    }

    @Override
    public void split(CharSequence text, SpanConsumer out) {
        final int n = text.length();
        int i = 0;
        while (i < n) {
            final char c = text.charAt(i);
            int end;
            if (c == '\'' && (end = contractionEnd(text, i, n)) > 0) {
                out.accept(i, end);
            } else {
                int cls;
                if (c == ' ' && i + 1 < n && (cls = classAt(text, i + 1, n)) != SPACE) {
                    end = runEnd(text, i + 1, n, cls);
                } else if ((cls = classAt(text, i, n)) != SPACE) {
                    end = runEnd(text, i, n, cls);
                } else {
                    end = runEnd(text, i, n, SPACE);
                    if (end < n && end - i > 1) {
                        end--; // \s+(?!\S): leave the last whitespace char for the next pre-token
                    }
                }
                out.accept(i, end);
            }
            i = end;
        }
    }

    /** End of the contraction starting with the apostrophe at i, or 0 if there is none. */
    private static int contractionEnd(CharSequence text, int i, int n) {
        if (i + 1 >= n) {
            return 0;
        }
        switch (text.charAt(i + 1)) {
            case 's': case 't': case 'm': case 'd':
                return i + 2;
            case 'r': case 'v':
                return i + 2 < n && text.charAt(i + 2) == 'e' ? i + 3 : 0;
            case 'l':
                return i + 2 < n && text.charAt(i + 2) == 'l' ? i + 3 : 0;
            default:
                return 0;
        }
    }

    /** Class of the code point starting at i (i < n). */
    private static int classAt(CharSequence text, int i, int n) {
        char c = text.charAt(i);
        int k = CLASS[c];
        if (k != HIGH) {
            return k;
        }
        char d;
        return i + 1 < n && Character.isLowSurrogate(d = text.charAt(i + 1))
                ? typeClass(Character.getType(Character.toCodePoint(c, d)))
                : OTHER;
    }

    /** End of the maximal run of code points of class cls starting at i. */
    private static int runEnd(CharSequence text, int i, int n, int cls) {
        while (i < n) {
            char c = text.charAt(i);
            int k = CLASS[c];
            if (k == cls) {
                i++;
            } else if (k != HIGH) {
                break;
            } else {
                char d;
                if (i + 1 < n && Character.isLowSurrogate(d = text.charAt(i + 1))) {
                    if (typeClass(Character.getType(Character.toCodePoint(c, d))) != cls) {
                        break;
                    }
                    i += 2;
                } else if (cls == OTHER) {
                    i++; // an unpaired high surrogate is category Cs
                } else {
                    break;
                }
            }
        }
        return i;
    }

    /** Whether a char is whitespace ({@code \s} with UNICODE_CHARACTER_CLASS); no supplementary code point is. */
    static boolean isWhitespace(char c) {
        return CLASS[c] == SPACE;
    }

    /** The scanner's class of a code point (LETTER, NUMBER, OTHER or SPACE); a lone surrogate is OTHER. */
    static int classOf(int codePoint) {
        if (codePoint < CLASS.length) {
            int k = CLASS[codePoint];
            return k == HIGH ? OTHER : k;
        }
        return typeClass(Character.getType(codePoint));
    }

    private static byte typeClass(int type) {
        switch (type) {
            case Character.UPPERCASE_LETTER: case Character.LOWERCASE_LETTER: case Character.TITLECASE_LETTER:
            case Character.MODIFIER_LETTER: case Character.OTHER_LETTER:
                return LETTER;
            case Character.DECIMAL_DIGIT_NUMBER: case Character.LETTER_NUMBER: case Character.OTHER_NUMBER:
                return NUMBER;
            case Character.SPACE_SEPARATOR: case Character.LINE_SEPARATOR: case Character.PARAGRAPH_SEPARATOR:
                return SPACE;
            default:
                return OTHER;
        }
    }

    private static byte[] buildTable() {
        byte[] t = new byte[Character.MAX_VALUE + 1];
        for (int c = 0; c <= Character.MAX_VALUE; c++) {
            if ((c >= 0x09 && c <= 0x0D) || c == 0x85) {
                t[c] = SPACE;
            } else if (Character.isHighSurrogate((char) c)) {
                t[c] = HIGH;
            } else {
                t[c] = typeClass(Character.getType(c));
            }
        }
        return t;
    }
}
