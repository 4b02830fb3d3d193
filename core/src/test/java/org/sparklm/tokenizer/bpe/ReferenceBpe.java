package org.sparklm.tokenizer.bpe;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The naive trainer the real one is checked against: every step recounts every pair of every word from scratch,
 * picks the best by the documented rule, and rewrites every word. Tokens are byte strings held as ISO-8859-1
 * Strings (one char per byte), so the tie rule is a plain comparison of those strings.
 */
final class ReferenceBpe {

    /** One chosen merge: the left and right token bytes and the count it had. */
    record Merge(String left, String right, long count) {
    }

    private ReferenceBpe() {
    }

    /**
     * @param words word -> count; each word is its list of initial symbols (byte strings)
     * @param newTokenBudget how many new token ids may be created
     * @param forbidden merged byte strings that may never be produced (special tokens)
     */
    static List<Merge> train(Map<List<String>, Long> words, int newTokenBudget, long minFrequency,
                             Set<String> forbidden, Set<String> initialTokens) {
        // tokens get small int ids so that every step can recount all pairs into a dense table
        List<String> names = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (String t : initialTokens) {
            ids.put(t, names.size());
            names.add(t);
        }
        int maxIds = names.size() + Math.max(0, newTokenBudget);
        List<int[]> ws = new ArrayList<>();
        List<Long> cs = new ArrayList<>();
        for (Map.Entry<List<String>, Long> e : words.entrySet()) {
            ws.add(e.getKey().stream().mapToInt(ids::get).toArray());
            cs.add(e.getValue());
        }
        long[] counts = new long[maxIds * maxIds];
        int[] touched = new int[16];
        Set<Integer> blocked = new HashSet<>();
        List<Merge> merges = new ArrayList<>();
        int created = 0;
        while (created < newTokenBudget) {
            int nTouched = 0;
            for (int w = 0; w < ws.size(); w++) {
                int[] s = ws.get(w);
                for (int i = 0; i + 1 < s.length; i++) {
                    int idx = s[i] * maxIds + s[i + 1];
                    if (counts[idx] == 0) {
                        if (nTouched == touched.length) {
                            touched = Arrays.copyOf(touched, nTouched * 2);
                        }
                        touched[nTouched++] = idx;
                    }
                    counts[idx] += cs.get(w);
                }
            }
            int best = -1;
            long bestCount = -1;
            for (int t = 0; t < nTouched; t++) {
                int idx = touched[t];
                long c = counts[idx];
                counts[idx] = 0;
                if (blocked.contains(idx)) {
                    continue;
                }
                if (best < 0 || c > bestCount || (c == bestCount && lessThan(names, idx, best, maxIds))) {
                    best = idx;
                    bestCount = c;
                }
            }
            if (best < 0 || bestCount < minFrequency) {
                break;
            }
            int a = best / maxIds;
            int b = best % maxIds;
            String z = names.get(a) + names.get(b);
            if (forbidden.contains(z)) {
                blocked.add(best);
                continue;
            }
            merges.add(new Merge(names.get(a), names.get(b), bestCount));
            Integer zid = ids.get(z);
            if (zid == null) {
                zid = names.size();
                ids.put(z, zid);
                names.add(z);
                created++;
            }
            for (int w = 0; w < ws.size(); w++) {
                int[] s = ws.get(w);
                int[] out = new int[s.length];
                int o = 0;
                for (int i = 0; i < s.length; i++) {
                    if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                        out[o++] = zid;
                        i++;
                    } else {
                        out[o++] = s[i];
                    }
                }
                ws.set(w, Arrays.copyOf(out, o));
            }
        }
        return merges;
    }

    private static boolean lessThan(List<String> names, int x, int y, int n) {
        int c = unsigned(names.get(x / n), names.get(y / n));
        return c != 0 ? c < 0 : unsigned(names.get(x % n), names.get(y % n)) < 0;
    }

    /** Compares two byte strings (ISO-8859-1 Strings) in unsigned byte order. */
    private static int unsigned(String x, String y) {
        return Arrays.compareUnsigned(x.getBytes(StandardCharsets.ISO_8859_1), y.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Byte mode: a word's initial symbols are its UTF-8 bytes. */
    static List<String> byteSymbols(String word) {
        byte[] b = org.sparklm.tokenizer.Utf8.encode(word);
        List<String> s = new ArrayList<>(b.length);
        for (byte x : b) {
            s.add(new String(new byte[] {x}, StandardCharsets.ISO_8859_1));
        }
        return s;
    }

    /** Char-eow mode: code points, the last with "</w>", each as its UTF-8 bytes. */
    static List<String> charSymbols(String word) {
        List<String> s = new ArrayList<>();
        int[] cps = word.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) {
            String c = new String(Character.toChars(cps[i])) + (i == cps.length - 1 ? "</w>" : "");
            s.add(new String(c.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
        }
        return s;
    }

    /** A string as the ISO-8859-1 form of its UTF-8 bytes. */
    static String utf8(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }
}
