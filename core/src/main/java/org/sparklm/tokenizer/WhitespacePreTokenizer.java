package org.sparklm.tokenizer;

/**
 * Splits text on whitespace: the pre-tokens are the maximal runs of non-whitespace, and whitespace is dropped. Used by
 * the textbook BPE mode (Sennrich et al. 2016) where each word ends with an end-of-word marker.
 *
 * <p>Whitespace is the same set as {@link Gpt2PreTokenizer}'s (Java regex {@code \s} with UNICODE_CHARACTER_CLASS:
 * U+0009..U+000D, U+0085, and categories Zs, Zl, Zp). Stateless and thread-safe.
 */
public final class WhitespacePreTokenizer implements PreTokenizer {

    /** The shared instance. */
    public static final WhitespacePreTokenizer INSTANCE = new WhitespacePreTokenizer();

    private WhitespacePreTokenizer() {
    }

    @Override
    public void split(CharSequence text, SpanConsumer out) {
        final int n = text.length();
        int i = 0;
        while (true) {
            while (i < n && Gpt2PreTokenizer.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i == n) {
                return;
            }
            int start = i;
            while (i < n && !Gpt2PreTokenizer.isWhitespace(text.charAt(i))) {
                i++;
            }
            out.accept(start, i);
        }
    }
}
