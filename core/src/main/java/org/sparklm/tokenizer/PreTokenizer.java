package org.sparklm.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits text into pre-tokens, the units a BPE model merges inside (merges never cross a pre-token boundary).
 *
 * <p>Implementations report spans rather than strings so that the hot paths (corpus counting, encoding) allocate
 * nothing per pre-token. Implementations are stateless and thread-safe.
 */
public interface PreTokenizer {

    /** Receives one pre-token as the char range [start, end) of the text. */
    @FunctionalInterface
    interface SpanConsumer {
        void accept(int start, int end);
    }

    /** Splits text into consecutive pre-tokens, calling out for each in order. */
    void split(CharSequence text, SpanConsumer out);

    /** Convenience: the pre-tokens as strings. */
    default List<String> split(CharSequence text) {
        List<String> pieces = new ArrayList<>();
        split(text, (start, end) -> pieces.add(text.subSequence(start, end).toString()));
        return pieces;
    }
}
