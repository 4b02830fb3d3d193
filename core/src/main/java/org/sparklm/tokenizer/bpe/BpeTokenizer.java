package org.sparklm.tokenizer.bpe;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;
import org.sparklm.tokenizer.Utf8;
import org.sparklm.util.IntList;
import org.sparklm.util.LongLongMap;

/**
 * Encodes and decodes with a {@link BpeModel}: each word from {@link WordSplitter} is split into its initial symbols
 * and the lowest-ranked merge among its adjacent pairs is applied (left to right, without overlap) until none applies.
 * That reproduces training's merge sequence and HuggingFace tokenizers' BPE model. Thread-safe; words' encodings are
 * cached (up to {@link #CACHE_CAPACITY} words; once full, new words are encoded but not cached).
 *
 * <p>Byte mode: {@code decode(encode(s)) == s} for every string without unpaired surrogates; an unpaired surrogate
 * encodes as U+FFFD (see {@link Utf8}). Char-eow mode: whitespace is not kept (words decode separated by one space)
 * and characters never seen in training encode as {@code [UNK]}.
 */
public final class BpeTokenizer implements Tokenizer {
    public static final int CACHE_CAPACITY = 1 << 17;

    private final BpeModel model;
    private final int specialCount;
    private final LongLongMap ranks; // pair -> (rank << 32 | result), read-only after construction
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();
    private final Pattern specialPattern;
    private final ConcurrentHashMap<Integer, Integer> charIds = new ConcurrentHashMap<>();
    private final int unk;

    public BpeTokenizer(BpeModel model) {
        this.model = model;
        this.specialCount = model.specialTokens().size();
        this.ranks = new LongLongMap(Math.max(16, model.mergeCount()));
        for (int r = model.mergeCount() - 1; r >= 0; r--) { // lower rank wins if a pair repeats
            ranks.put(BpeTrainer.pair(model.mergeLeft(r), model.mergeRight(r)),
                ((long) r << 32) | model.mergeResult(r));
        }
        List<String> specials = new ArrayList<>(model.specialTokens().tokens());
        specials.sort(Comparator.comparingInt(String::length).reversed());
        this.specialPattern = specials.isEmpty() ? null
            : Pattern.compile(specials.stream().map(Pattern::quote).collect(Collectors.joining("|")));
        this.unk = model.unkId();
    }

    public BpeModel model() {
        return model;
    }

    @Override
    public int[] encode(String text, boolean allowSpecial) {
        IntList out = new IntList(Math.max(8, text.length() / 3));
        if (allowSpecial && specialPattern != null) {
            Matcher m = specialPattern.matcher(text);
            int pos = 0;
            while (m.find()) {
                encodeOrdinary(text.substring(pos, m.start()), out);
                out.add(model.specialTokens().idOf(m.group()));
                pos = m.end();
            }
            encodeOrdinary(pos == 0 ? text : text.substring(pos), out);
        } else {
            encodeOrdinary(text, out);
        }
        return out.toArray();
    }

    private void encodeOrdinary(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        WordSplitter.split(model.mode(), text, (s, e) -> {
            String word = text.substring(s, e);
            int[] ids = cache.get(word);
            if (ids == null) {
                ids = encodeWord(word);
                if (cache.size() < CACHE_CAPACITY) {
                    cache.put(word, ids);
                }
            }
            for (int id : ids) {
                out.add(id);
            }
        });
    }

    /** The ids of one word, without the cache. */
    int[] encodeWord(String word) {
        int[] sym;
        int n;
        if (model.mode() == BpeMode.BYTE) {
            byte[] b = new byte[word.length() * 3];
            n = Utf8.encode(word, 0, word.length(), b, 0);
            sym = new int[n];
            for (int i = 0; i < n; i++) {
                sym[i] = specialCount + (b[i] & 0xFF);
            }
        } else {
            sym = new int[word.length()];
            n = 0;
            int i = 0;
            while (i < word.length()) {
                int raw = Character.codePointAt(word, i);
                i += Character.charCount(raw);
                int cp = Utf8.scalar(raw);
                sym[n++] = charId(cp, i >= word.length());
            }
        }
        while (n > 1) {
            long best = Long.MAX_VALUE;
            for (int i = 0; i + 1 < n; i++) {
                if (sym[i] < 0 || sym[i + 1] < 0) {
                    continue;
                }
                long v = ranks.get(BpeTrainer.pair(sym[i], sym[i + 1])); // 0: no merge (results are never id 0)
                if (v != 0 && v < best) {
                    best = v;
                }
            }
            if (best == Long.MAX_VALUE) {
                break;
            }
            int rank = (int) (best >>> 32);
            int a = model.mergeLeft(rank);
            int b = model.mergeRight(rank);
            int z = (int) best;
            int o = 0;
            for (int i = 0; i < n; ) {
                if (i + 1 < n && sym[i] == a && sym[i + 1] == b) {
                    sym[o++] = z;
                    i += 2;
                } else {
                    sym[o++] = sym[i++];
                }
            }
            n = o;
        }
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = sym[i] < 0 ? unk : sym[i];
        }
        return r;
    }

    /** char-eow: the id of a character symbol, or -1 when it is not in the vocabulary. */
    private int charId(int cp, boolean last) {
        int key = last ? ~cp : cp;
        Integer id = charIds.get(key);
        if (id == null) {
            id = model.id(new String(Character.toChars(cp)) + (last ? BpeMode.END_OF_WORD : ""));
            if (charIds.size() < CACHE_CAPACITY) {
                charIds.put(key, id);
            }
        }
        return id;
    }

    @Override
    public List<int[]> encodeBatch(List<String> texts, boolean allowSpecial) {
        return texts.parallelStream().map(t -> encode(t, allowSpecial)).collect(Collectors.toList());
    }

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        if (model.mode() == BpeMode.BYTE) {
            int total = 0;
            for (int id : ids) {
                checkId(id);
                total += model.tokenBytesShared(id).length;
            }
            byte[] buf = new byte[total];
            int p = 0;
            for (int id : ids) {
                if (id < specialCount && skipSpecial) {
                    continue;
                }
                byte[] t = model.tokenBytesShared(id);
                System.arraycopy(t, 0, buf, p, t.length);
                p += t.length;
            }
            return Utf8.decode(buf, 0, p);
        }
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            checkId(id);
            if (id == unk) {
                // an unknown character inside a word: no word boundary (HF's BPEDecoder does the same)
                if (!skipSpecial) {
                    sb.append(model.token(id));
                }
                continue;
            }
            if (id < specialCount) {
                // other special tokens stand as words of their own
                if (!skipSpecial) {
                    sb.append(model.token(id)).append(' ');
                }
                continue;
            }
            String t = model.token(id);
            if (t.endsWith(BpeMode.END_OF_WORD)) {
                sb.append(t, 0, t.length() - BpeMode.END_OF_WORD.length()).append(' ');
            } else {
                sb.append(t);
            }
        }
        int end = sb.length();
        if (end > 0 && sb.charAt(end - 1) == ' ') {
            sb.setLength(end - 1);
        }
        return sb.toString();
    }

    private void checkId(int id) {
        if (id < 0 || id >= model.vocabSize()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, "
                + model.vocabSize() + ")");
        }
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public int id(String token) {
        return model.id(token);
    }

    @Override
    public String token(int id) {
        return model.token(id);
    }

    @Override
    public SpecialTokens specialTokens() {
        return model.specialTokens();
    }
}
