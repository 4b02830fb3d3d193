package org.sparklm.tokenizer.bpe;

import org.sparklm.tokenizer.Gpt2PreTokenizer;
import org.sparklm.tokenizer.PreTokenizer;
import org.sparklm.tokenizer.WhitespacePreTokenizer;

/**
 * Splits a line of text into the words that BPE trains on and encodes: the mode's pre-tokenizer (GPT-2 pattern in
 * byte mode, whitespace in char-eow mode), then every pre-token longer than {@link #MAX_WORD_CHARS} UTF-16 units is
 * cut into chunks of at most that length (never inside a surrogate pair).
 *
 * <p>The cut keeps training and encoding linear on pathological input (a 100 MB line of letters is one pre-token):
 * BPE on one word of n symbols costs O(n^2) in the encoder and makes the training index useless. Natural words are far
 * shorter; on text whose pre-tokens are all at most this long, encoding equals HuggingFace tokenizers'.
 * Training and encoding use this same splitter, so they always agree.
 */
public final class WordSplitter {
    /** The longest word, in UTF-16 units. */
    public static final int MAX_WORD_CHARS = 256;

    private WordSplitter() {
    }

    /** The pre-tokenizer of a mode. */
    public static PreTokenizer preTokenizer(BpeMode mode) {
        return mode == BpeMode.BYTE ? Gpt2PreTokenizer.INSTANCE : WhitespacePreTokenizer.INSTANCE;
    }

    /** Calls out for every word of text, as char ranges in order. */
    public static void split(BpeMode mode, CharSequence text, PreTokenizer.SpanConsumer out) {
        preTokenizer(mode).split(text, (s, e) -> chunk(text, s, e, out));
    }

    private static void chunk(CharSequence text, int s, int e, PreTokenizer.SpanConsumer out) {
        while (e - s > MAX_WORD_CHARS) {
            int cut = s + MAX_WORD_CHARS;
            if (Character.isHighSurrogate(text.charAt(cut - 1)) && Character.isLowSurrogate(text.charAt(cut))) {
                cut--;
            }
            out.accept(s, cut);
            s = cut;
        }
        out.accept(s, e);
    }
}
