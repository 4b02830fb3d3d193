package org.sparklm.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The special tokens of a vocabulary, in id order: they take ids {@code 0 .. size()-1}, are never produced or crossed
 * by merges, and are recognised in text only when an encoder is asked to.
 *
 * @param tokens the token strings, unique, non-empty, without whitespace
 */
public record SpecialTokens(List<String> tokens) {

    public static final String PAD = "[PAD]";
    public static final String UNK = "[UNK]";
    public static final String BOS = "[BOS]";
    public static final String EOS = "[EOS]";
    public static final String MASK = "[MASK]";
    public static final String CLS = "[CLS]";
    public static final String SEP = "[SEP]";
    /** Number of span-corruption sentinels {@code <extra_id_0> .. <extra_id_99>} in the default set. */
    public static final int DEFAULT_SENTINELS = 100;

    /** The default set: [PAD] [UNK] [BOS] [EOS] [MASK] [CLS] [SEP] and {@code <extra_id_0>} .. {@code <extra_id_99>}. */
    public static final SpecialTokens DEFAULT = defaults();

    public SpecialTokens {
        tokens = List.copyOf(tokens);
        Set<String> seen = new HashSet<>();
        for (String t : tokens) {
            if (t.isEmpty()) {
                throw new IllegalArgumentException("special token must not be empty");
            }
            for (int i = 0; i < t.length(); i++) {
                if (Character.isWhitespace(t.charAt(i)) || Character.isSpaceChar(t.charAt(i))) {
                    throw new IllegalArgumentException("special token must not contain whitespace: '" + t + "'");
                }
            }
            if (!seen.add(t)) {
                throw new IllegalArgumentException("duplicate special token: '" + t + "'");
            }
        }
    }

    private static SpecialTokens defaults() {
        List<String> t = new ArrayList<>(Arrays.asList(PAD, UNK, BOS, EOS, MASK, CLS, SEP));
        for (int i = 0; i < DEFAULT_SENTINELS; i++) {
            t.add(sentinel(i));
        }
        return new SpecialTokens(t);
    }

    private static final String SENTINEL_PREFIX = "<extra_id_";

    /** The i-th span-corruption sentinel, {@code <extra_id_i>}. */
    public static String sentinel(int i) {
        return SENTINEL_PREFIX + i + ">";
    }

    /** Whether a token is named as a span-corruption sentinel ({@code <extra_id_...}). */
    public static boolean isSentinel(String token) {
        return token.startsWith(SENTINEL_PREFIX);
    }

    /**
     * Parses a comma-separated list; the word {@code default} stands for the default set and {@code none} (or an
     * empty string) for no special tokens. Example: {@code "default,<|endoftext|>"}.
     */
    public static SpecialTokens parse(String spec) {
        List<String> out = new ArrayList<>();
        String s = spec.trim();
        if (s.isEmpty() || s.equals("none")) {
            return new SpecialTokens(out);
        }
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.equals("default")) {
                out.addAll(DEFAULT.tokens());
            } else if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return new SpecialTokens(out);
    }

    public int size() {
        return tokens.size();
    }

    /** The id of a special token, or -1. */
    public int idOf(String token) {
        return tokens.indexOf(token);
    }

    public boolean contains(String token) {
        return tokens.contains(token);
    }
}
