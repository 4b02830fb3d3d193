package org.sparklm.tokenizer.bpe;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.sparklm.tokenizer.ByteLevel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Utf8;
import org.sparklm.util.IntList;
import org.sparklm.util.LongLongMap;

/**
 * Learns a byte-pair-encoding vocabulary (Sennrich, Haddow and Birch 2016, "Neural Machine Translation of Rare Words
 * with Subword Units"; byte-level as in GPT-2, Radford et al. 2019) from a table of word counts.
 *
 * <p>The merge rule, exact so that any correct implementation reproduces the vocabulary: every adjacent pair in every
 * word is counted, weighted by the word's count (overlapping pairs count, "aaa" holds (a,a) twice); the next merge is
 * the pair with the highest 64-bit count; ties go to the pair whose left token's bytes are lexicographically smallest
 * (unsigned), then the right token's; a merge is applied left to right without overlap; training stops when the
 * vocabulary has {@code vocabSize} ids or the best count is below {@code minFrequency}.
 *
 * <p>The loop is incremental: a pair-to-words index names the words a merge can change, and a max-heap with lazy
 * invalidation (an entry whose count is stale is re-pushed with the current count when it reaches the top) picks the
 * next pair; no merge recounts the corpus. The order in which words are added never changes the result.
 *
 * <p>Memory: one {@code int} per symbol of every unique word plus 16 bytes per word, 16 bytes per distinct pair
 * (counts), the pair index (an {@code int} per pair occurrence) and the heap. See docs/DESIGN.md.
 *
 * <p>Usage: {@code new BpeTrainer(config)}, {@link #addWord} for every unique word, then {@link #train} once.
 */
public final class BpeTrainer {

    /** Training settings, validated on construction. */
    public record Config(BpeMode mode, int vocabSize, long minFrequency, SpecialTokens specialTokens) {
        public Config {
            if (vocabSize < 1) {
                throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
            }
            if (minFrequency < 1) {
                throw new IllegalArgumentException("minimum frequency must be at least 1, got " + minFrequency);
            }
            if (mode == BpeMode.CHAR_EOW && !specialTokens.contains(SpecialTokens.UNK)) {
                throw new IllegalArgumentException("char-eow mode needs the special token " + SpecialTokens.UNK);
            }
            if (mode == BpeMode.BYTE) {
                for (String t : specialTokens.tokens()) {
                    if (t.length() == 1 && ByteLevel.charToByte(t.charAt(0)) >= 0) {
                        throw new IllegalArgumentException("special token '" + t + "' is also the byte-level token"
                            + " of byte " + ByteLevel.charToByte(t.charAt(0)));
                    }
                }
            }
            int floor = specialTokens.size() + (mode == BpeMode.BYTE ? 256 : 0);
            if (vocabSize < floor) {
                throw new IllegalArgumentException("vocabulary size " + vocabSize + " is smaller than the "
                    + specialTokens.size() + " special tokens plus the 256 byte symbols (" + floor + ")");
            }
        }
    }

    /** Receives progress while merging. */
    @FunctionalInterface
    public interface Progress {
        /** Called after each merge; {@code target} is the most merges that the vocabulary size allows. */
        void merged(int merges, int target, long count);
    }

    /**
     * What training produced.
     *
     * @param model the vocabulary
     * @param mergeCounts the count each merge had when it was chosen
     * @param uniqueWords unique words trained on
     * @param totalWords total word occurrences (sum of counts)
     * @param initialPairs distinct adjacent pairs before the first merge
     * @param stopReason why merging stopped
     */
    public record Result(BpeModel model, long[] mergeCounts, long uniqueWords, long totalWords, long initialPairs,
                         String stopReason) {
    }

    private final Config config;
    private final int specialCount;

    // word table: symbols of word w are arena[off[w] .. off[w]+len[w])
    private int[] arena = new int[1 << 16];
    private int arenaSize;
    private int[] off = new int[1 << 12];
    private int[] len = new int[1 << 12];
    private long[] count = new long[1 << 12];
    private int words;
    private long totalWords;

    // char-eow: symbol -> temporary id (key: code point * 2 + end-of-word flag)
    private final LongLongMap charSymbols = new LongLongMap(1024);
    private final List<String> charSymbolNames = new ArrayList<>();
    private byte[] scratch = new byte[256];
    private int[] charRemap;
    private boolean trained;

    public BpeTrainer(Config config) {
        this.config = config;
        this.specialCount = config.specialTokens().size();
    }

    public Config config() {
        return config;
    }

    /** Number of unique words added so far. */
    public int wordCount() {
        return words;
    }

    /**
     * Adds a word (a pre-token) with its count. A word may be added more than once: counts add up.
     * Unpaired surrogates count as U+FFFD, see {@link Utf8}.
     */
    public void addWord(CharSequence word, long n) {
        if (trained) {
            throw new IllegalStateException("train() was already called");
        }
        if (n <= 0) {
            throw new IllegalArgumentException("word count must be positive, got " + n + " for '" + word + "'");
        }
        if (word.length() == 0) {
            return;
        }
        if (config.mode() == BpeMode.BYTE) {
            if (scratch.length < word.length() * 3) {
                scratch = new byte[word.length() * 3];
            }
            int nb = Utf8.encode(word, 0, word.length(), scratch, 0);
            ensureArena(nb);
            for (int i = 0; i < nb; i++) {
                arena[arenaSize + i] = specialCount + (scratch[i] & 0xFF);
            }
            appendWord(nb, n);
        } else {
            ensureArena(word.length());
            int k = 0;
            int i = 0;
            while (i < word.length()) {
                int cp = Character.codePointAt(word, i);
                i += Character.charCount(cp);
                if (Character.isSurrogate((char) cp) && cp < 0x10000) {
                    cp = 0xFFFD;
                }
                arena[arenaSize + k++] = charSymbol(cp, i >= word.length());
            }
            appendWord(k, n);
        }
    }

    private int charSymbol(int cp, boolean last) {
        long key = cp * 2L + (last ? 1 : 0);
        long id = charSymbols.get(key);
        if (id == 0) {
            String name = new String(Character.toChars(cp)) + (last ? BpeMode.END_OF_WORD : "");
            charSymbolNames.add(name);
            id = charSymbolNames.size(); // 1-based so that 0 means absent
            charSymbols.put(key, id);
        }
        return (int) id - 1;
    }

    private void ensureArena(int extra) {
        if (arenaSize + (long) extra > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("word table exceeds 2^31 symbols; see docs/DESIGN.md (memory bounds)");
        }
        if (arenaSize + extra > arena.length) {
            arena = Arrays.copyOf(arena, (int) Math.min(Integer.MAX_VALUE - 16,
                Math.max(arenaSize + (long) extra, arena.length * 3L / 2)));
        }
    }

    private void appendWord(int n, long c) {
        if (words == off.length) {
            int cap = words + (words >> 1);
            off = Arrays.copyOf(off, cap);
            len = Arrays.copyOf(len, cap);
            count = Arrays.copyOf(count, cap);
        }
        off[words] = arenaSize;
        len[words] = n;
        count[words] = c;
        arenaSize += n;
        words++;
        totalWords += c;
    }

    /**
     * Adds the adjacent pairs of a word's initial symbols, weighted by its count, to {@code into}, keyed by raw
     * symbol codes: in byte mode the byte values, in char-eow mode {@code codePoint * 2 + (last ? 1 : 0)}; the key is
     * {@code left << 32 | right}. This is how executors count the initial pairs that {@link #train(Progress,
     * LongLongMap)} is seeded with.
     */
    public static void countInitialPairs(BpeMode mode, CharSequence word, long n, LongLongMap into) {
        if (mode == BpeMode.BYTE) {
            byte[] b = new byte[word.length() * 3];
            int nb = Utf8.encode(word, 0, word.length(), b, 0);
            for (int i = 0; i + 1 < nb; i++) {
                into.add(pair(b[i] & 0xFF, b[i + 1] & 0xFF), n);
            }
        } else {
            int prev = -1;
            int i = 0;
            while (i < word.length()) {
                int cp = Character.codePointAt(word, i);
                i += Character.charCount(cp);
                if (Character.isSurrogate((char) cp) && cp < 0x10000) {
                    cp = 0xFFFD;
                }
                int code = cp * 2 + (i >= word.length() ? 1 : 0);
                if (prev >= 0) {
                    into.add(pair(prev, code), n);
                }
                prev = code;
            }
        }
    }

    /** Trains without progress reports. */
    public Result train() {
        return train(null);
    }

    /** Runs the merge loop over the words added so far, counting the initial pairs itself. Call once. */
    public Result train(Progress progress) {
        return train(progress, null);
    }

    /**
     * Runs the merge loop over the words added so far. Call once.
     *
     * @param seededPairs the initial pair counts, computed elsewhere (by executors) with
     *     {@link #countInitialPairs}; null to count here. Checked against the word table: their total must equal
     *     the table's number of pair occurrences.
     */
    public Result train(Progress progress, LongLongMap seededPairs) {
        if (trained) {
            throw new IllegalStateException("train() was already called");
        }
        trained = true;
        // ---- the base vocabulary
        List<String> tokens = new ArrayList<>(config.specialTokens().tokens());
        List<byte[]> bytes = new ArrayList<>();
        for (String s : config.specialTokens().tokens()) {
            bytes.add(s.getBytes(StandardCharsets.UTF_8));
        }
        int baseCount;
        if (config.mode() == BpeMode.BYTE) {
            baseCount = 256;
            for (int b = 0; b < 256; b++) {
                byte[] one = {(byte) b};
                tokens.add(ByteLevel.encode(one, 0, 1));
                bytes.add(one);
            }
        } else {
            baseCount = charSymbolNames.size();
            Integer[] order = new Integer[baseCount];
            byte[][] nameBytes = new byte[baseCount][];
            for (int i = 0; i < baseCount; i++) {
                order[i] = i;
                nameBytes[i] = charSymbolNames.get(i).getBytes(StandardCharsets.UTF_8);
            }
            Arrays.sort(order, (x, y) -> Arrays.compareUnsigned(nameBytes[x], nameBytes[y]));
            for (String name : charSymbolNames) {
                if (config.specialTokens().contains(name)) {
                    throw new IllegalArgumentException("special token '" + name
                        + "' is also a character of the corpus");
                }
            }
            int[] remap = new int[baseCount];
            for (int r = 0; r < baseCount; r++) {
                remap[order[r]] = specialCount + r;
                tokens.add(charSymbolNames.get(order[r]));
                bytes.add(nameBytes[order[r]]);
            }
            for (int i = 0; i < arenaSize; i++) {
                arena[i] = remap[arena[i]];
            }
            charRemap = remap;
            if (specialCount + baseCount > config.vocabSize()) {
                throw new IllegalArgumentException("vocabulary size " + config.vocabSize() + " is smaller than the "
                    + specialCount + " special tokens plus the " + baseCount + " characters of the corpus ("
                    + (specialCount + baseCount) + ")");
            }
        }
        Map<String, Integer> idOfKey = new HashMap<>();
        for (int i = specialCount; i < bytes.size(); i++) {
            idOfKey.put(key(bytes.get(i)), i);
        }
        MergeLoop loop = new MergeLoop(bytes, idOfKey, tokens);
        return loop.run(progress, baseCount, seededPairs);
    }

    /** A byte string as a map key (one char per byte). */
    private static String key(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    static int left(long pair) {
        return (int) (pair >>> 32);
    }

    static int right(long pair) {
        return (int) pair;
    }

    /** The state of one training run. */
    private final class MergeLoop {
        private final List<byte[]> tokenBytes;
        private final Map<String, Integer> idOfKey;
        private final List<String> tokens;
        private final LongLongMap pairCounts;
        private final LongLongMap listOf = new LongLongMap(1 << 16); // pair -> 1 + index into lists
        private int[][] lists = new int[1 << 16][];
        private int[] listSize = new int[1 << 16];
        private int listCount;
        private final LongLongMap pushedAt = new LongLongMap(1 << 12);
        private final LongLongMap blocked = new LongLongMap(16);
        private final java.util.Set<String> specialNames = new java.util.HashSet<>(config.specialTokens().tokens());
        private int blockedCount;
        private final int[] stamp;
        private final PairHeap heap;

        MergeLoop(List<byte[]> tokenBytes, Map<String, Integer> idOfKey, List<String> tokens) {
            this.tokenBytes = tokenBytes;
            this.idOfKey = idOfKey;
            this.tokens = tokens;
            this.pairCounts = new LongLongMap(Math.max(1024, words));
            this.stamp = new int[words];
            Arrays.fill(stamp, -1);
            this.heap = new PairHeap(this.tokenBytes);
        }

        private void index(long p, int w) {
            long slot = listOf.get(p);
            int li;
            if (slot == 0) {
                if (listCount == lists.length) {
                    lists = Arrays.copyOf(lists, listCount * 2);
                    listSize = Arrays.copyOf(listSize, listCount * 2);
                }
                li = listCount++;
                lists[li] = new int[4];
                listOf.put(p, li + 1L);
            } else {
                li = (int) slot - 1;
                if (lists[li] == null) {
                    lists[li] = new int[4];
                }
            }
            int s = listSize[li];
            int[] a = lists[li];
            if (s > 0 && a[s - 1] == w) {
                return;
            }
            if (s == a.length) {
                a = lists[li] = Arrays.copyOf(a, s * 2);
            }
            a[s] = w;
            listSize[li] = s + 1;
        }

        private int idOfCode(long code) {
            if (config.mode() == BpeMode.BYTE) {
                if (code < 0 || code > 255) {
                    throw new IllegalStateException("seeded pair counts name byte code " + code);
                }
                return specialCount + (int) code;
            }
            long temp = charSymbols.get(code);
            if (temp == 0) {
                throw new IllegalStateException("seeded pair counts name a symbol (code " + code
                    + ") that no word has");
            }
            return charRemap[(int) temp - 1];
        }

        Result run(Progress progress, int baseCount, LongLongMap seeded) {
            long minF = config.minFrequency();
            long occurrences = 0;
            for (int w = 0; w < words; w++) {
                int o = off[w];
                int e = o + len[w];
                long c = count[w];
                for (int i = o; i + 1 < e; i++) {
                    long p = pair(arena[i], arena[i + 1]);
                    if (seeded == null) {
                        pairCounts.add(p, c);
                    }
                    index(p, w);
                }
                if (e - o > 1) {
                    occurrences += c * (e - o - 1);
                }
            }
            if (seeded != null) {
                long[] total = {0};
                seeded.forEach((k, c) -> {
                    pairCounts.add(pair(idOfCode(left(k)), idOfCode(right(k))), c);
                    total[0] += c;
                });
                if (total[0] != occurrences) {
                    throw new IllegalStateException("seeded pair counts total " + total[0]
                        + " but the word table holds " + occurrences + " pair occurrences");
                }
                // the same set of pairs as the word table's (the index has one list per pair that occurs)
                if (pairCounts.size() != listOf.size()) {
                    throw new IllegalStateException("seeded pair counts name " + pairCounts.size()
                        + " distinct pairs but the word table holds " + listOf.size());
                }
                pairCounts.forEach((pk, c) -> {
                    if (c <= 0 || !listOf.containsKey(pk)) {
                        throw new IllegalStateException("seeded pair counts name a pair (" + left(pk) + ", "
                            + right(pk) + ") with count " + c + " that the word table does not hold");
                    }
                });
            }
            long initialPairs = pairCounts.size();
            pairCounts.forEach((p, c) -> {
                if (c >= minF) {
                    heap.push(c, p);
                }
            });
            int maxMerges = config.vocabSize() - tokens.size();
            IntList mergeL = new IntList();
            IntList mergeR = new IntList();
            long[] mergeCounts = new long[16];
            String stop = "vocabulary size reached";
            LongList increased = new LongList();
            while (tokens.size() < config.vocabSize()) {
                if (heap.isEmpty()) {
                    stop = "no pair left with count >= " + minF + " (the minimum frequency)";
                    break;
                }
                long c = heap.topCount();
                long p = heap.topPair();
                heap.pop();
                long cur = pairCounts.get(p);
                if (cur != c) {
                    if (cur >= minF && !blocked.containsKey(p)) {
                        heap.push(cur, p);
                    }
                    continue;
                }
                if (cur < minF) {
                    stop = "best pair count " + cur + " is below the minimum frequency " + minF;
                    break;
                }
                int a = left(p);
                int b = right(p);
                if (specialNames.contains(tokens.get(a) + tokens.get(b))) {
                    blocked.put(p, 1); // would produce a special token's string: never merged
                    blockedCount++;
                    continue;
                }
                byte[] ab = concat(tokenBytes.get(a), tokenBytes.get(b));
                String k = key(ab);
                Integer existing = idOfKey.get(k);
                int z;
                if (existing != null) {
                    z = existing;
                } else {
                    z = tokens.size();
                    tokens.add(tokens.get(a) + tokens.get(b));
                    tokenBytes.add(ab);
                    idOfKey.put(k, z);
                }
                int m = mergeL.size();
                mergeL.add(a);
                mergeR.add(b);
                if (m == mergeCounts.length) {
                    mergeCounts = Arrays.copyOf(mergeCounts, m * 2);
                }
                mergeCounts[m] = cur;
                applyMerge(p, a, b, z, m, increased);
                for (int i = 0; i < increased.size; i++) {
                    long q = increased.a[i];
                    long qc = pairCounts.get(q);
                    if (qc >= minF && pushedAt.get(q) != m + 1L && !blocked.containsKey(q)) {
                        pushedAt.put(q, m + 1L);
                        heap.push(qc, q);
                    }
                }
                increased.size = 0;
                if (progress != null) {
                    progress.merged(m + 1, maxMerges, cur);
                }
            }
            BpeModel model = new BpeModel(config.mode(), config.specialTokens(), baseCount, tokens,
                mergeL.toArray(), mergeR.toArray());
            return new Result(model, Arrays.copyOf(mergeCounts, mergeL.size()), words, totalWords, initialPairs,
                stop);
        }

        private void applyMerge(long p, int a, int b, int z, int m, LongList increased) {
            long slot = listOf.get(p);
            if (slot == 0) {
                return;
            }
            int li = (int) slot - 1;
            int[] ws = lists[li];
            int n = listSize[li];
            lists[li] = null; // this pair is gone; new occurrences cannot appear (z is the only way to build a+b)
            listSize[li] = 0;
            for (int j = 0; j < n; j++) {
                int w = ws[j];
                if (stamp[w] == m) {
                    continue;
                }
                stamp[w] = m;
                int o = off[w];
                int e = o + len[w];
                long c = count[w];
                int out = o;
                int i = o;
                while (i < e) {
                    if (i + 1 < e && arena[i] == a && arena[i + 1] == b) {
                        pairCounts.add(p, -c);
                        if (out > o) {
                            int prev = arena[out - 1];
                            pairCounts.add(pair(prev, a), -c);
                            long np = pair(prev, z);
                            pairCounts.add(np, c);
                            increased.add(np);
                            index(np, w);
                        }
                        if (i + 2 < e) {
                            int next = arena[i + 2];
                            pairCounts.add(pair(b, next), -c);
                            long np = pair(z, next);
                            pairCounts.add(np, c);
                            increased.add(np);
                            index(np, w);
                        }
                        arena[out++] = z;
                        i += 2;
                    } else {
                        arena[out++] = arena[i++];
                    }
                }
                len[w] = out - o;
            }
        }
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] r = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    /** A growable long list. */
    private static final class LongList {
        long[] a = new long[64];
        int size;

        void add(long v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }
    }
}
