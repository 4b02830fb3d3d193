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
 * next pair; no merge recounts the corpus. The order in which words are added never changes the result. The words
 * lie in one {@code int} array, each with its length and count in front of its symbols, so that rewriting a word
 * costs one or two cache misses, and a merge loads the words it rewrites ahead, in blocks (see {@code MergeLoop}).
 *
 * <p>Memory: the word table, 4 bytes per symbol plus 12 per unique word; the pair index ({@link PairIndex}), an
 * {@code int} per (pair, word) entry (at first about one per symbol, in lists allocated at their exact size) plus
 * about 100 bytes per distinct pair (hash slot, count, list header, heap entry). See docs/DESIGN.md.
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

    // The word table: one record per unique word, back to back in `arena`, a 3-int header then the symbols:
    //   arena[o + LEN]                      the number of symbols the word has now (merges shrink it in place)
    //   arena[o + COUNT_HI], [o + COUNT_LO] its count, high and low 32 bits
    //   arena[o + HEADER ..]                the symbols
    // A word is named by its offset o (the pair index lists offsets), so rewriting a word touches one stretch of
    // memory (one or two cache lines). Offsets are ints: the table is limited to 2^31 ints (checked in ensureArena).
    private static final int LEN = 0;
    private static final int COUNT_HI = 1;
    private static final int COUNT_LO = 2;
    private static final int HEADER = 3;
    /** Words that a merge loads into the cache at once, ahead of rewriting them. */
    private static final int BLOCK = 32;
    private int[] arena = new int[1 << 16];
    private int arenaSize;
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
            ensureArena(HEADER + nb);
            int s = arenaSize + HEADER;
            for (int i = 0; i < nb; i++) {
                arena[s + i] = specialCount + (scratch[i] & 0xFF);
            }
            appendWord(nb, n);
        } else {
            ensureArena(HEADER + word.length());
            int s = arenaSize + HEADER;
            int k = 0;
            int i = 0;
            while (i < word.length()) {
                int raw = Character.codePointAt(word, i);
                i += Character.charCount(raw);
                int cp = Utf8.scalar(raw);
                arena[s + k++] = charSymbol(cp, i >= word.length());
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
            throw new IllegalStateException("word table exceeds 2^31 ints (symbols plus 3 per word); see"
                + " docs/DESIGN.md (memory bounds)");
        }
        if (arenaSize + extra > arena.length) {
            arena = Arrays.copyOf(arena, (int) Math.min(Integer.MAX_VALUE - 16,
                Math.max(arenaSize + (long) extra, arena.length * 3L / 2)));
        }
    }

    /** Writes the header of the word whose n symbols were just stored after it, at arenaSize. */
    private void appendWord(int n, long c) {
        int o = arenaSize;
        arena[o + LEN] = n;
        arena[o + COUNT_HI] = (int) (c >>> 32);
        arena[o + COUNT_LO] = (int) c;
        arenaSize += HEADER + n;
        words++;
        totalWords += c;
    }

    private long countOf(int o) {
        return ((long) arena[o + COUNT_HI] << 32) | (arena[o + COUNT_LO] & 0xFFFFFFFFL);
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
                int raw = Character.codePointAt(word, i);
                i += Character.charCount(raw);
                int cp = Utf8.scalar(raw);
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
            for (int o = 0; o < arenaSize; o += HEADER + arena[o + LEN]) {
                for (int i = o + HEADER; i < o + HEADER + arena[o + LEN]; i++) {
                    arena[i] = remap[arena[i]];
                }
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

    /** The pair that merging (a, b) into z gives a neighbour code (see MergeLoop): (x, z), or (z, y). */
    private static long gainedPair(int code, int z) {
        return (code & 1) == 0 ? pair(code >>> 1, z) : pair(z, code >>> 1);
    }

    /** The pair that merging (a, b) takes from a neighbour code (see MergeLoop): (x, a), or (b, y). */
    private static long lostPair(int code, int a, int b) {
        return (code & 1) == 0 ? pair(code >>> 1, a) : pair(b, code >>> 1);
    }

    /**
     * The state of one training run: the pair index, the heap and the per-merge scratch arrays.
     *
     * <p>Merging (a, b) into z rewrites, in place, each word its pair's list names. A replaced occurrence with a left
     * neighbour x moves the word's count from pair (x, a) to (x, z); with a right neighbour y, from (b, y) to (z, y).
     * The moves are summed per neighbour while the words are rewritten ({@code moved}, indexed by symbol, so cheap)
     * and applied to the pair counts at the end, once per distinct neighbour: a merge that rewrites a million words
     * does a few thousand hash lookups, not millions. Likewise the words that gain a new pair are collected first
     * ({@code gained}) and appended to its list once the list's exact size is known.
     */
    private final class MergeLoop {
        private final List<byte[]> tokenBytes;
        private final Map<String, Integer> idOfKey;
        private final List<String> tokens;
        private final PairIndex pairs = new PairIndex(1 << 16);
        private final PairHeap heap;
        private final LongLongMap blocked = new LongLongMap(16);
        private final java.util.Set<String> specialNames = new java.util.HashSet<>(config.specialTokens().tokens());
        private final long minF = config.minFrequency();
        private int[] pushedAt = new int[1 << 16]; // pair id -> 1 + the last merge after which it was pushed
        // Per merge, indexed by neighbour code: 2x for a left neighbour x (the merge turns pair (x, a) into (x, z)),
        // 2y + 1 for a right neighbour y ((b, y) into (z, y)). The count moved, the number of words that gain the new
        // pair, 1 + the offset of the last such word (0: not seen in this merge), and the new pair's id.
        private long[] moved = new long[0];
        private int[] gainers = new int[0];
        private int[] lastGainer = new int[0];
        private int[] gainedId = new int[0];
        private final IntList touched = new IntList(); // the codes seen in this merge
        private final IntList gained = new IntList(1 << 12); // (code, word) for every word that gains a pair
        private int prefetched; // xor of the values loaded ahead (words, hash slots), so the JIT keeps those loads

        MergeLoop(List<byte[]> tokenBytes, Map<String, Integer> idOfKey, List<String> tokens) {
            this.tokenBytes = tokenBytes;
            this.idOfKey = idOfKey;
            this.tokens = tokens;
            this.heap = new PairHeap(this.tokenBytes);
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

        /**
         * Gives every pair of every word an id, counts the pairs (unless {@code countPairs} is false) and builds the
         * pair-to-words index, each list allocated at its exact size: a first pass counts the words of each pair, a
         * second fills the lists. Returns the number of pair occurrences.
         */
        private long buildIndex(boolean countPairs) {
            int[] listed = new int[1 << 12]; // pair id -> words holding it
            int[] lastWord = new int[1 << 12]; // pair id -> 1 + offset of the last word counted in listed
            long occurrences = 0;
            for (int o = 0; o < arenaSize; o += HEADER + arena[o + LEN]) {
                int s = o + HEADER;
                int e = s + arena[o + LEN];
                long c = countOf(o);
                for (int i = s; i + 1 < e; i++) {
                    int id = pairs.idOrAdd(pair(arena[i], arena[i + 1]));
                    if (id == listed.length) {
                        listed = Arrays.copyOf(listed, id * 2);
                        lastWord = Arrays.copyOf(lastWord, id * 2);
                    }
                    if (countPairs) {
                        pairs.addCount(id, c);
                    }
                    if (lastWord[id] != o + 1) {
                        lastWord[id] = o + 1;
                        listed[id]++;
                    }
                }
                if (e - s > 1) {
                    occurrences += c * (e - s - 1);
                }
            }
            for (int id = 0; id < pairs.size(); id++) {
                pairs.reserve(id, listed[id]);
            }
            for (int o = 0; o < arenaSize; o += HEADER + arena[o + LEN]) {
                int s = o + HEADER;
                int e = s + arena[o + LEN];
                for (int i = s; i + 1 < e; i++) {
                    pairs.addWord(pairs.id(pair(arena[i], arena[i + 1])), o);
                }
            }
            return occurrences;
        }

        /** Sets the pair counts from the executors' counts, after checking them against the word table. */
        private void seed(LongLongMap seeded, long occurrences) {
            LongLongMap counts = new LongLongMap(seeded.size());
            long[] total = {0};
            seeded.forEach((k, c) -> {
                counts.add(pair(idOfCode(left(k)), idOfCode(right(k))), c);
                total[0] += c;
            });
            if (total[0] != occurrences) {
                throw new IllegalStateException("seeded pair counts total " + total[0]
                    + " but the word table holds " + occurrences + " pair occurrences");
            }
            // the same set of pairs as the word table's (the index holds exactly the pairs that occur)
            if (counts.size() != pairs.size()) {
                throw new IllegalStateException("seeded pair counts name " + counts.size()
                    + " distinct pairs but the word table holds " + pairs.size());
            }
            counts.forEach((pk, c) -> {
                int id = pairs.id(pk);
                if (c <= 0 || id < 0) {
                    throw new IllegalStateException("seeded pair counts name a pair (" + left(pk) + ", "
                        + right(pk) + ") with count " + c + " that the word table does not hold");
                }
                pairs.addCount(id, c);
            });
        }

        Result run(Progress progress, int baseCount, LongLongMap seeded) {
            long occurrences = buildIndex(seeded == null);
            if (seeded != null) {
                seed(seeded, occurrences);
            }
            long initialPairs = pairs.size();
            pairs.forEach((p, id) -> {
                long c = pairs.count((int) id);
                if (c >= minF) {
                    heap.push(c, p);
                }
            });
            int maxMerges = config.vocabSize() - tokens.size();
            IntList mergeL = new IntList();
            IntList mergeR = new IntList();
            long[] mergeCounts = new long[16];
            String stop = "vocabulary size reached";
            while (tokens.size() < config.vocabSize()) {
                if (heap.isEmpty()) {
                    stop = "no pair left with count >= " + minF + " (the minimum frequency)";
                    break;
                }
                long c = heap.topCount();
                long p = heap.topPair();
                heap.pop();
                int pid = pairs.id(p);
                long cur = pairs.count(pid);
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
                applyMerge(pid, a, b, z, m);
                if (progress != null) {
                    progress.merged(m + 1, maxMerges, cur);
                }
            }
            BpeModel model = new BpeModel(config.mode(), config.specialTokens(), baseCount, tokens,
                mergeL.toArray(), mergeR.toArray());
            return new Result(model, Arrays.copyOf(mergeCounts, mergeL.size()), words, totalWords, initialPairs,
                stop);
        }

        /** Merge number m: rewrites every word holding pair pid = (a, b), then updates the counts and the heap. */
        private void applyMerge(int pid, int a, int b, int z, int m) {
            if (moved.length < 2 * tokens.size()) {
                int cap = Math.max(2048, tokens.size() * 4);
                moved = Arrays.copyOf(moved, cap);
                gainers = Arrays.copyOf(gainers, cap);
                lastGainer = Arrays.copyOf(lastGainer, cap);
                gainedId = Arrays.copyOf(gainedId, cap);
            }
            int[] ws = pairs.takeWords(pid);
            int n = ws == null ? 0 : ws[0];
            long merged = 0;
            for (int from = 1; from <= n; from += BLOCK) {
                int to = Math.min(n + 1, from + BLOCK);
                prefetch(ws, from, to);
                for (int j = from; j < to; j++) {
                    merged += rewrite(ws[j], a, b, z);
                }
            }
            pairs.addCount(pid, -merged);
            int[] codes = touched.array();
            int nc = touched.size();
            // the hash table is large too: the slots of the pairs looked up below are loaded first, as the words were
            int slots = 0;
            for (int t = 0; t < nc; t++) {
                slots ^= pairs.load(gainedPair(codes[t], z)) ^ pairs.load(lostPair(codes[t], a, b));
            }
            prefetched ^= slots;
            for (int t = 0; t < nc; t++) {
                int code = codes[t];
                gainedId[code] = pairs.idOrAdd(gainedPair(code, z));
                pairs.reserve(gainedId[code], gainers[code]);
            }
            for (int t = 0; t < nc; t++) {
                int code = codes[t];
                // the lost pair exists: the word held it, or it is (z, a) with the z of the occurrence just before,
                // a pair gained in this merge
                pairs.addCount(pairs.id(lostPair(code, a, b)), -moved[code]);
                pairs.addCount(gainedId[code], moved[code]);
            }
            int[] g = gained.array();
            for (int t = 0; t < gained.size(); t += 2) {
                pairs.addWord(gainedId[g[t]], g[t + 1]);
            }
            gained.clear();
            // only counts that rose need a heap entry; the others are re-pushed when their stale entry surfaces
            if (pushedAt.length < pairs.size()) {
                pushedAt = Arrays.copyOf(pushedAt, pairs.size() * 2);
            }
            for (int t = 0; t < nc; t++) {
                int code = codes[t];
                push(gainedId[code], gainedPair(code, z), m);
                moved[code] = 0;
                gainers[code] = 0;
                lastGainer[code] = 0;
            }
            touched.clear();
        }

        /**
         * Loads the words ws[from, to) into the cache before they are rewritten: the first two cache lines of each
         * (a word, header and symbols, takes 85 bytes on average in byte mode on mixed-language text). The words lie
         * far apart in a table of hundreds of megabytes, and rewriting them one after the other waits for each cache
         * miss in turn (a few hundred nanoseconds on a virtual machine); these loads do not depend on each other, so
         * their misses overlap. This halves the time of a merge.
         */
        private void prefetch(int[] ws, int from, int to) {
            int x = 0;
            int last = arenaSize - 1;
            for (int j = from; j < to; j++) {
                int o = ws[j];
                x ^= arena[o] ^ arena[Math.min(o + 16, last)];
            }
            prefetched ^= x;
        }

        /**
         * Replaces, left to right, the occurrences of (a, b) in word o with z, and records what moves to the
         * neighbours' pairs. Returns the word's count times the occurrences replaced.
         */
        private long rewrite(int o, int a, int b, int z) {
            int s = o + HEADER;
            int e = s + arena[o + LEN];
            int i = s;
            while (i + 1 < e && (arena[i] != a || arena[i + 1] != b)) {
                i++;
            }
            if (i + 1 >= e) {
                return 0; // lost the pair to an earlier merge (lists are not pruned), or listed twice
            }
            long c = countOf(o);
            long merged = 0;
            int out = i;
            while (i < e) {
                if (i + 1 < e && arena[i] == a && arena[i + 1] == b) {
                    merged += c;
                    if (out > s) {
                        neighbour(2 * arena[out - 1], c, o);
                    }
                    if (i + 2 < e) {
                        neighbour(2 * arena[i + 2] + 1, c, o);
                    }
                    arena[out++] = z;
                    i += 2;
                } else {
                    arena[out++] = arena[i++];
                }
            }
            arena[o + LEN] = out - s;
            return merged;
        }

        /** Word o, count c, gains the pair of a neighbour code (see {@code moved}). */
        private void neighbour(int code, long c, int o) {
            if (lastGainer[code] == 0) {
                touched.add(code);
            }
            moved[code] += c;
            if (lastGainer[code] != o + 1) { // a word that gains a pair twice is listed once
                lastGainer[code] = o + 1;
                gainers[code]++;
                gained.add(code);
                gained.add(o);
            }
        }

        private void push(int id, long p, int m) {
            long c = pairs.count(id);
            if (c >= minF && pushedAt[id] != m + 1 && !blocked.containsKey(p)) {
                pushedAt[id] = m + 1;
                heap.push(c, p);
            }
        }
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] r = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }
}
