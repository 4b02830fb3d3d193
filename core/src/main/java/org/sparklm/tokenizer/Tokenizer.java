package org.sparklm.tokenizer;

import java.util.List;

/**
 * Text to token ids and back. Implementations are immutable and thread-safe.
 */
public interface Tokenizer {

    /** Encodes text, treating special-token strings in it as ordinary text. */
    default int[] encode(String text) {
        return encode(text, false);
    }

    /**
     * Encodes text.
     *
     * @param allowSpecial when true, occurrences of the special tokens' strings become their ids (leftmost, longest
     *     first); when false they are ordinary text
     */
    int[] encode(String text, boolean allowSpecial);

    /** Encodes many texts, in parallel; element i of the result encodes element i of the input. */
    List<int[]> encodeBatch(List<String> texts, boolean allowSpecial);

    /** Decodes ids to text, special tokens included as their strings. */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Decodes ids to text; with skipSpecial, special tokens are left out. */
    String decode(int[] ids, boolean skipSpecial);

    /** Number of ids. */
    int vocabSize();

    /** The id of a token string (as in the vocabulary files), or -1. */
    int id(String token);

    /** The token string of an id. */
    String token(int id);

    SpecialTokens specialTokens();
}
