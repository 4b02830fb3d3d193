package org.sparklm.tokenizer.bpe;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparklm.tokenizer.ByteLevel;
import org.sparklm.tokenizer.SpecialTokens;

/**
 * A trained byte-pair-encoding vocabulary: the immutable artifact that {@link BpeTrainer} produces and
 * {@link BpeTokenizer} encodes with.
 *
 * <p>Ids are laid out as: the special tokens ({@code 0 .. S-1}), the base symbols (in byte mode the 256 bytes in byte
 * order, in char-eow mode the alphabet in UTF-8 byte order), then one id per new token created by a merge, in merge
 * order. Token strings are those of the files: in byte mode the GPT-2 byte-to-character mapping
 * ({@link ByteLevel}), in char-eow mode the characters themselves with the {@code </w>} suffix.
 *
 * <p>A merge whose concatenation already exists as a token (for example {@code ab+c} after {@code a+bc}) reuses that
 * token's id, as HuggingFace tokenizers does, so there can be more merges than new ids.
 */
public final class BpeModel {
    private final BpeMode mode;
    private final SpecialTokens specials;
    private final int baseCount;
    private final String[] tokens;
    private final byte[][] tokenBytes;
    private final int[] mergeLeft;
    private final int[] mergeRight;
    private final int[] mergeResult;
    private final Map<String, Integer> ids;

    /**
     * @param mode how text becomes initial symbols
     * @param specials the special tokens, ids {@code 0 .. specials.size()-1}
     * @param baseCount the number of base symbols following the special tokens
     * @param tokens every token string in id order (the file representation)
     * @param mergeLeft the left token id of each merge, in merge (rank) order
     * @param mergeRight the right token id of each merge
     */
    public BpeModel(BpeMode mode, SpecialTokens specials, int baseCount, List<String> tokens, int[] mergeLeft,
                    int[] mergeRight) {
        this.mode = mode;
        this.specials = specials;
        this.baseCount = baseCount;
        this.tokens = tokens.toArray(new String[0]);
        int s = specials.size();
        if (mergeLeft.length != mergeRight.length) {
            throw new IllegalArgumentException("merge arrays differ in length: " + mergeLeft.length + " vs "
                + mergeRight.length);
        }
        if (this.tokens.length < s + baseCount) {
            throw new IllegalArgumentException("vocabulary of " + this.tokens.length + " tokens is smaller than "
                + s + " special tokens + " + baseCount + " base symbols");
        }
        for (int i = 0; i < s; i++) {
            if (!this.tokens[i].equals(specials.tokens().get(i))) {
                throw new IllegalArgumentException("id " + i + " is '" + this.tokens[i] + "', expected special token '"
                    + specials.tokens().get(i) + "'");
            }
        }
        if (mode == BpeMode.BYTE && baseCount != 256) {
            throw new IllegalArgumentException("byte mode needs 256 base symbols, got " + baseCount);
        }
        ids = new HashMap<>(this.tokens.length * 2);
        tokenBytes = new byte[this.tokens.length][];
        for (int i = 0; i < this.tokens.length; i++) {
            String t = this.tokens[i];
            if (ids.putIfAbsent(t, i) != null) {
                throw new IllegalArgumentException("duplicate token '" + t + "' at ids " + ids.get(t) + " and " + i);
            }
            if (i < s || mode == BpeMode.CHAR_EOW) {
                tokenBytes[i] = t.getBytes(StandardCharsets.UTF_8);
            } else {
                tokenBytes[i] = ByteLevel.decode(t);
                if (i < s + baseCount && (tokenBytes[i].length != 1 || (tokenBytes[i][0] & 0xFF) != i - s)) {
                    throw new IllegalArgumentException("id " + i + " must be the byte " + (i - s) + ", got '" + t + "'");
                }
            }
        }
        this.mergeLeft = mergeLeft.clone();
        this.mergeRight = mergeRight.clone();
        this.mergeResult = new int[mergeLeft.length];
        for (int m = 0; m < mergeLeft.length; m++) {
            int l = mergeLeft[m];
            int r = mergeRight[m];
            checkMergeId(m, l);
            checkMergeId(m, r);
            if (mode == BpeMode.CHAR_EOW && this.tokens[l].endsWith(BpeMode.END_OF_WORD)) {
                throw new IllegalArgumentException("merge " + m + " has an end-of-word token on the left: '"
                    + this.tokens[l] + "'");
            }
            Integer res = ids.get(this.tokens[l] + this.tokens[r]);
            if (res == null) {
                throw new IllegalArgumentException("merge " + m + " (" + this.tokens[l] + " " + this.tokens[r]
                    + ") produces a token that is not in the vocabulary");
            }
            mergeResult[m] = res;
        }
    }

    private void checkMergeId(int m, int id) {
        if (id < specials.size() || id >= tokens.length) {
            throw new IllegalArgumentException("merge " + m + " uses id " + id
                + ", which is a special token or out of range");
        }
    }

    public BpeMode mode() {
        return mode;
    }

    public SpecialTokens specialTokens() {
        return specials;
    }

    /** Number of base symbols (256 in byte mode). */
    public int baseCount() {
        return baseCount;
    }

    /** Total number of ids. */
    public int vocabSize() {
        return tokens.length;
    }

    public int mergeCount() {
        return mergeLeft.length;
    }

    public int mergeLeft(int rank) {
        return mergeLeft[rank];
    }

    public int mergeRight(int rank) {
        return mergeRight[rank];
    }

    public int mergeResult(int rank) {
        return mergeResult[rank];
    }

    /** The token string of an id, as in the vocabulary files. */
    public String token(int id) {
        return tokens[id];
    }

    /** The raw bytes a token stands for (special tokens: the UTF-8 of their text). */
    public byte[] tokenBytes(int id) {
        return tokenBytes[id].clone();
    }

    byte[] tokenBytesShared(int id) {
        return tokenBytes[id];
    }

    /** The id of a token string, or -1. */
    public int id(String token) {
        Integer i = ids.get(token);
        return i == null ? -1 : i;
    }

    /** The vocabulary as token string to id, in id order. */
    public Map<String, Integer> vocab() {
        Map<String, Integer> v = new LinkedHashMap<>();
        for (int i = 0; i < tokens.length; i++) {
            v.put(tokens[i], i);
        }
        return Collections.unmodifiableMap(v);
    }

    /** The id of the unknown token {@code [UNK]}, or -1 when there is none. */
    public int unkId() {
        return specials.idOf(SpecialTokens.UNK);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BpeModel m)) {
            return false;
        }
        return mode == m.mode && specials.equals(m.specials) && baseCount == m.baseCount
            && Arrays.equals(tokens, m.tokens) && Arrays.equals(mergeLeft, m.mergeLeft)
            && Arrays.equals(mergeRight, m.mergeRight);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(mergeLeft) * 17 + Arrays.hashCode(mergeRight);
    }

    @Override
    public String toString() {
        return "BpeModel[" + mode.cliName() + ", " + tokens.length + " ids, " + mergeLeft.length + " merges]";
    }
}
