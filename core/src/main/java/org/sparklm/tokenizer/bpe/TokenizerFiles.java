package org.sparklm.tokenizer.bpe;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.sparklm.tokenizer.SpecialTokens;

/**
 * Reads and writes a {@link BpeModel} in the files other tools load (see docs/FORMATS.md):
 * <ul>
 *   <li>{@code tokenizer.json}, the HuggingFace tokenizers format: a BPE model with vocab and merges; in byte mode a
 *   ByteLevel pre-tokenizer and decoder, in char-eow mode a WhitespaceSplit pre-tokenizer, the {@code </w>}
 *   end-of-word suffix and a BPEDecoder; the special tokens as added tokens;</li>
 *   <li>{@code vocab.json} + {@code merges.txt}, the GPT-2 layout.</li>
 * </ul>
 * Merges are written as {@code "left right"} strings, which every tokenizers version reads (tokens never contain a
 * space: byte mode maps it to {@code Ġ}, char-eow splits on whitespace).
 */
public final class TokenizerFiles {
    public static final String TOKENIZER_JSON = "tokenizer.json";
    public static final String VOCAB_JSON = "vocab.json";
    public static final String MERGES_TXT = "merges.txt";

    private static final ObjectMapper JSON = new ObjectMapper()
        .configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);

    private TokenizerFiles() {
    }

    /** The HuggingFace tokenizer.json document of a model. */
    public static ObjectNode toHuggingFace(BpeModel m) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        List<String> specials = m.specialTokens().tokens();
        for (int i = 0; i < specials.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", specials.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        boolean bytes = m.mode() == BpeMode.BYTE;
        ObjectNode pre = root.putObject("pre_tokenizer");
        if (bytes) {
            pre.put("type", "ByteLevel");
            pre.put("add_prefix_space", false);
            pre.put("trim_offsets", true);
            pre.put("use_regex", true);
        } else {
            pre.put("type", "WhitespaceSplit");
        }
        root.putNull("post_processor");
        ObjectNode dec = root.putObject("decoder");
        if (bytes) {
            dec.put("type", "ByteLevel");
            dec.put("add_prefix_space", true);
            dec.put("trim_offsets", true);
            dec.put("use_regex", true);
        } else {
            dec.put("type", "BPEDecoder");
            dec.put("suffix", BpeMode.END_OF_WORD);
        }
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        if (bytes) {
            model.putNull("unk_token");
        } else {
            model.put("unk_token", SpecialTokens.UNK);
        }
        model.putNull("continuing_subword_prefix");
        if (bytes) {
            model.putNull("end_of_word_suffix");
        } else {
            model.put("end_of_word_suffix", BpeMode.END_OF_WORD);
        }
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < m.vocabSize(); i++) {
            vocab.put(m.token(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        for (int r = 0; r < m.mergeCount(); r++) {
            merges.add(m.token(m.mergeLeft(r)) + " " + m.token(m.mergeRight(r)));
        }
        return root;
    }

    public static void writeTokenizerJson(BpeModel m, OutputStream out) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(out, toHuggingFace(m));
    }

    /** GPT-2 {@code vocab.json}: token string to id, in id order. */
    public static void writeVocabJson(BpeModel m, OutputStream out) throws IOException {
        ObjectNode vocab = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < m.vocabSize(); i++) {
            vocab.put(m.token(i), i);
        }
        JSON.writeValue(out, vocab);
    }

    /** GPT-2 {@code merges.txt}: a {@code #version: 0.2} header, then one {@code left right} line per merge. */
    public static void writeMergesTxt(BpeModel m, OutputStream out) throws IOException {
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
        w.write("#version: 0.2\n");
        for (int r = 0; r < m.mergeCount(); r++) {
            w.write(m.token(m.mergeLeft(r)));
            w.write(' ');
            w.write(m.token(m.mergeRight(r)));
            w.write('\n');
        }
        w.flush();
    }

    /** Reads a tokenizer.json written by {@link #writeTokenizerJson} (or HF's own byte-level/char-eow BPE files). */
    public static BpeModel readTokenizerJson(InputStream in) throws IOException {
        JsonNode root = JSON.readTree(in);
        if (root == null || !root.isObject()) {
            throw new IOException("tokenizer.json is not a JSON object");
        }
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText())) {
            throw new IOException("tokenizer.json: model.type is '" + model.path("type").asText() + "', expected BPE");
        }
        String preType = root.path("pre_tokenizer").path("type").asText("");
        BpeMode mode;
        if (preType.equals("ByteLevel")) {
            mode = BpeMode.BYTE;
        } else if (preType.equals("WhitespaceSplit")
            && BpeMode.END_OF_WORD.equals(model.path("end_of_word_suffix").asText(null))) {
            mode = BpeMode.CHAR_EOW;
        } else {
            throw new IOException("tokenizer.json: unsupported pre-tokenizer '" + preType
                + "' (expected ByteLevel, or WhitespaceSplit with end_of_word_suffix </w>)");
        }
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject()) {
            throw new IOException("tokenizer.json: model.vocab is missing");
        }
        String[] tokens = new String[vocabNode.size()];
        Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= tokens.length || tokens[id] != null) {
                throw new IOException("tokenizer.json: ids must be 0.." + (tokens.length - 1)
                    + " without gaps or repeats; bad id " + e.getValue() + " for '" + e.getKey() + "'");
            }
            tokens[id] = e.getKey();
        }
        List<String> specials = new ArrayList<>();
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt(-1);
            if (id != specials.size()) {
                throw new IOException("tokenizer.json: added tokens must take the first ids in order; got id " + id
                    + " for '" + t.path("content").asText() + "'");
            }
            specials.add(t.path("content").asText());
        }
        int s = specials.size();
        int base;
        if (mode == BpeMode.BYTE) {
            base = 256;
        } else {
            base = 0;
            while (s + base < tokens.length && isCharSymbol(tokens[s + base])) {
                base++;
            }
        }
        List<String> list = List.of(tokens);
        SpecialTokens specialTokens;
        BpeModel tmp;
        try { // bad special tokens or base symbols: an IOException like every other defect of the file
            specialTokens = new SpecialTokens(specials);
            tmp = new BpeModel(mode, specialTokens, base, list, new int[0], new int[0]);
        } catch (IllegalArgumentException e) {
            throw new IOException("tokenizer.json: " + e.getMessage(), e);
        }
        JsonNode mergesNode = model.path("merges");
        int[] left = new int[mergesNode.size()];
        int[] right = new int[mergesNode.size()];
        for (int r = 0; r < mergesNode.size(); r++) {
            JsonNode mn = mergesNode.get(r);
            String a;
            String b;
            if (mn.isArray() && mn.size() == 2) {
                a = mn.get(0).asText();
                b = mn.get(1).asText();
            } else {
                String line = mn.asText();
                int sp = line.indexOf(' ');
                if (sp < 0 || line.indexOf(' ', sp + 1) >= 0) {
                    throw new IOException("tokenizer.json: merge " + r + " is not 'left right': '" + line + "'");
                }
                a = line.substring(0, sp);
                b = line.substring(sp + 1);
            }
            left[r] = tmp.id(a);
            right[r] = tmp.id(b);
            if (left[r] < 0 || right[r] < 0) {
                throw new IOException("tokenizer.json: merge " + r + " names a token not in the vocabulary: '" + a
                    + " " + b + "'");
            }
        }
        try {
            return new BpeModel(mode, specialTokens, base, list, left, right);
        } catch (IllegalArgumentException e) {
            throw new IOException("tokenizer.json: " + e.getMessage(), e);
        }
    }

    private static boolean isCharSymbol(String t) {
        String core = t.endsWith(BpeMode.END_OF_WORD) ? t.substring(0, t.length() - BpeMode.END_OF_WORD.length()) : t;
        return !core.isEmpty() && core.codePointCount(0, core.length()) == 1;
    }

    /** Writes tokenizer.json, vocab.json and merges.txt into a local directory. */
    public static void save(BpeModel m, Path dir) {
        try {
            Files.createDirectories(dir);
            try (OutputStream o = Files.newOutputStream(dir.resolve(TOKENIZER_JSON))) {
                writeTokenizerJson(m, o);
            }
            try (OutputStream o = Files.newOutputStream(dir.resolve(VOCAB_JSON))) {
                writeVocabJson(m, o);
            }
            try (OutputStream o = Files.newOutputStream(dir.resolve(MERGES_TXT))) {
                writeMergesTxt(m, o);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loads the tokenizer.json of a local directory (or the file itself). */
    public static BpeModel load(Path dirOrFile) throws IOException {
        Path p = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(TOKENIZER_JSON) : dirOrFile;
        if (!Files.isRegularFile(p)) {
            throw new IOException("no tokenizer at " + p + " (expected a directory holding " + TOKENIZER_JSON + ")");
        }
        try (InputStream in = Files.newInputStream(p)) {
            return readTokenizerJson(in);
        }
    }
}
