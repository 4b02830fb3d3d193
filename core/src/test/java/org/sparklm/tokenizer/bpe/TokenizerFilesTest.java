package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.tokenizer.SpecialTokens;

/** The files of {@link TokenizerFiles}: save/load identity, the layout of each file, and errors on corrupt input. */
class TokenizerFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int S = SpecialTokens.DEFAULT.size();

    private static List<String> lines;
    private static BpeModel bytes;
    private static BpeModel chars;
    private static BpeModel bytesNoSpecials;

    @BeforeAll
    static void train() throws Exception {
        lines = BpeTestSupport.brownLines(3000);
        List<String> corpus = new ArrayList<>(lines);
        Random rnd = new Random(2);
        for (int i = 0; i < 500; i++) {
            corpus.add(BpeTokenizerTest.randomText(rnd, List.of(), false, false)); // non-ASCII tokens too
        }
        bytes = BpeTestSupport.train(BpeMode.BYTE, BpeTestSupport.countWords(BpeMode.BYTE, corpus),
            S + 256 + 400, 2, SpecialTokens.DEFAULT).model();
        Map<String, Long> words = BpeTestSupport.countWords(BpeMode.CHAR_EOW, corpus);
        Set<String> alphabet = new HashSet<>();
        words.keySet().forEach(w -> alphabet.addAll(ReferenceBpe.charSymbols(w)));
        chars = BpeTestSupport.train(BpeMode.CHAR_EOW, words, S + alphabet.size() + 400, 2, SpecialTokens.DEFAULT)
            .model();
        assertEquals(alphabet.size(), chars.baseCount());
        bytesNoSpecials = BpeTestSupport.train(BpeMode.BYTE, BpeTestSupport.countWords(BpeMode.BYTE, lines),
            256 + 200, 2, new SpecialTokens(List.of())).model();
    }

    private static List<BpeModel> models() {
        return List.of(bytes, chars, bytesNoSpecials);
    }

    @Test
    void saveThenLoadGivesTheSameModelAndEncoding(@TempDir Path dir) throws IOException {
        Random rnd = new Random(9);
        List<String> texts = new ArrayList<>(lines.subList(0, 500));
        for (int i = 0; i < 500; i++) {
            texts.add(BpeTokenizerTest.randomText(rnd, lines, true, true));
        }
        for (BpeModel m : models()) {
            Path d = dir.resolve(m.mode().cliName() + m.specialTokens().size());
            TokenizerFiles.save(m, d);
            BpeModel loaded = TokenizerFiles.load(d);
            assertEquals(m, loaded);
            assertEquals(m.hashCode(), loaded.hashCode());
            assertEquals(m.baseCount(), loaded.baseCount());
            assertEquals(m.unkId(), loaded.unkId());
            assertEquals(m, TokenizerFiles.load(d.resolve(TokenizerFiles.TOKENIZER_JSON)));
            BpeTokenizer a = new BpeTokenizer(m);
            BpeTokenizer b = new BpeTokenizer(loaded);
            for (String t : texts) {
                assertArrayEquals(a.encode(t, true), b.encode(t, true), t);
                assertArrayEquals(a.encode(t), b.encode(t), t);
            }
            // saving the loaded model writes the same bytes
            Path again = dir.resolve("again-" + d.getFileName());
            TokenizerFiles.save(loaded, again);
            for (String f : List.of(TokenizerFiles.TOKENIZER_JSON, TokenizerFiles.VOCAB_JSON,
                TokenizerFiles.MERGES_TXT)) {
                assertArrayEquals(Files.readAllBytes(d.resolve(f)), Files.readAllBytes(again.resolve(f)), f);
            }
        }
    }

    @Test
    void vocabJsonMapsEveryTokenToItsIdInIdOrder(@TempDir Path dir) throws IOException {
        for (BpeModel m : models()) {
            Path d = dir.resolve(m.mode().cliName() + m.specialTokens().size());
            TokenizerFiles.save(m, d);
            JsonNode vocab = JSON.readTree(d.resolve(TokenizerFiles.VOCAB_JSON).toFile());
            assertTrue(vocab.isObject());
            assertEquals(m.vocabSize(), vocab.size());
            int expectedId = 0;
            Iterator<Map.Entry<String, JsonNode>> it = vocab.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                assertTrue(e.getValue().isInt(), e.toString());
                assertEquals(expectedId, e.getValue().asInt());
                assertEquals(m.token(expectedId), e.getKey());
                expectedId++;
            }
        }
    }

    @Test
    void mergesTxtHasTheHeaderAndOneLinePerMerge(@TempDir Path dir) throws IOException {
        for (BpeModel m : models()) {
            Path d = dir.resolve(m.mode().cliName() + m.specialTokens().size());
            TokenizerFiles.save(m, d);
            String text = Files.readString(d.resolve(TokenizerFiles.MERGES_TXT), StandardCharsets.UTF_8);
            assertTrue(text.endsWith("\n"));
            List<String> fileLines = List.of(text.split("\n", -1)).subList(0, text.split("\n", -1).length - 1);
            assertEquals("#version: 0.2", fileLines.get(0));
            assertEquals(m.mergeCount() + 1, fileLines.size());
            for (int r = 0; r < m.mergeCount(); r++) {
                String[] parts = fileLines.get(r + 1).split(" ", -1);
                assertEquals(2, parts.length, fileLines.get(r + 1));
                assertEquals(m.token(m.mergeLeft(r)), parts[0]);
                assertEquals(m.token(m.mergeRight(r)), parts[1]);
            }
        }
    }

    @Test
    void vocabJsonAndMergesTxtHoldTheWholeByteModel(@TempDir Path dir) throws IOException {
        // rebuild the model from the GPT-2 pair of files alone (a GPT-2 style reader needs nothing else)
        TokenizerFiles.save(bytes, dir);
        JsonNode vocab = JSON.readTree(dir.resolve(TokenizerFiles.VOCAB_JSON).toFile());
        String[] tokens = new String[vocab.size()];
        vocab.fields().forEachRemaining(e -> tokens[e.getValue().asInt()] = e.getKey());
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.length; i++) {
            ids.put(tokens[i], i);
        }
        List<String> merges = Files.readAllLines(dir.resolve(TokenizerFiles.MERGES_TXT), StandardCharsets.UTF_8);
        int[] left = new int[merges.size() - 1];
        int[] right = new int[merges.size() - 1];
        for (int r = 0; r < left.length; r++) {
            String[] p = merges.get(r + 1).split(" ");
            left[r] = ids.get(p[0]);
            right[r] = ids.get(p[1]);
        }
        BpeModel rebuilt = new BpeModel(BpeMode.BYTE, new SpecialTokens(List.of(tokens).subList(0, S)), 256,
            List.of(tokens), left, right);
        assertEquals(bytes, rebuilt);
    }

    @Test
    void tokenizerJsonHasTheHuggingFaceStructureInByteMode(@TempDir Path dir) throws IOException {
        TokenizerFiles.save(bytes, dir);
        JsonNode root = JSON.readTree(dir.resolve(TokenizerFiles.TOKENIZER_JSON).toFile());
        assertEquals("1.0", root.path("version").asText());
        assertTrue(root.path("truncation").isNull());
        assertTrue(root.path("padding").isNull());
        assertTrue(root.path("normalizer").isNull());
        assertTrue(root.path("post_processor").isNull());
        assertEquals("ByteLevel", root.path("pre_tokenizer").path("type").asText());
        assertTrue(root.path("pre_tokenizer").path("use_regex").asBoolean());
        assertTrue(root.path("pre_tokenizer").path("add_prefix_space").isBoolean());
        assertTrue(!root.path("pre_tokenizer").path("add_prefix_space").asBoolean(), "no prefix space is added");
        assertEquals("ByteLevel", root.path("decoder").path("type").asText());
        JsonNode model = root.path("model");
        assertEquals("BPE", model.path("type").asText());
        assertTrue(model.path("unk_token").isNull());
        assertTrue(model.path("end_of_word_suffix").isNull());
        assertTrue(model.path("continuing_subword_prefix").isNull());
        assertTrue(!model.path("byte_fallback").asBoolean(true));
        assertTrue(!model.path("fuse_unk").asBoolean(true));
        checkVocabMergesAndAddedTokens(bytes, root);
    }

    @Test
    void tokenizerJsonHasTheHuggingFaceStructureInCharEowMode(@TempDir Path dir) throws IOException {
        TokenizerFiles.save(chars, dir);
        JsonNode root = JSON.readTree(dir.resolve(TokenizerFiles.TOKENIZER_JSON).toFile());
        assertEquals("WhitespaceSplit", root.path("pre_tokenizer").path("type").asText());
        assertEquals("BPEDecoder", root.path("decoder").path("type").asText());
        assertEquals("</w>", root.path("decoder").path("suffix").asText());
        JsonNode model = root.path("model");
        assertEquals("BPE", model.path("type").asText());
        assertEquals("</w>", model.path("end_of_word_suffix").asText());
        assertEquals("[UNK]", model.path("unk_token").asText());
        assertEquals(1, model.path("vocab").path("[UNK]").asInt());
        assertTrue(model.path("continuing_subword_prefix").isNull());
        checkVocabMergesAndAddedTokens(chars, root);
    }

    private static void checkVocabMergesAndAddedTokens(BpeModel m, JsonNode root) {
        JsonNode vocab = root.path("model").path("vocab");
        assertEquals(m.vocabSize(), vocab.size());
        for (int id = 0; id < m.vocabSize(); id++) {
            assertEquals(id, vocab.path(m.token(id)).asInt(-1), m.token(id));
        }
        JsonNode merges = root.path("model").path("merges");
        assertEquals(m.mergeCount(), merges.size());
        for (int r = 0; r < m.mergeCount(); r++) {
            assertEquals(m.token(m.mergeLeft(r)) + " " + m.token(m.mergeRight(r)), merges.get(r).asText());
        }
        JsonNode added = root.path("added_tokens");
        assertEquals(S, added.size());
        for (int i = 0; i < S; i++) {
            JsonNode t = added.get(i);
            assertEquals(i, t.path("id").asInt(-1));
            assertEquals(SpecialTokens.DEFAULT.tokens().get(i), t.path("content").asText());
            assertTrue(t.path("special").asBoolean(false));
            assertTrue(!t.path("normalized").asBoolean(true));
            assertTrue(!t.path("lstrip").asBoolean(true) && !t.path("rstrip").asBoolean(true)
                && !t.path("single_word").asBoolean(true));
        }
    }

    @Test
    void readsMergesWrittenAsPairs() throws IOException {
        // newer HuggingFace versions write merges as ["left", "right"] arrays
        for (BpeModel m : List.of(bytes, chars)) {
            ObjectNode root = TokenizerFiles.toHuggingFace(m);
            ArrayNode pairs = JSON.createArrayNode();
            for (JsonNode merge : root.path("model").path("merges")) {
                String[] p = merge.asText().split(" ");
                pairs.addArray().add(p[0]).add(p[1]);
            }
            ((ObjectNode) root.path("model")).set("merges", pairs);
            assertEquals(m, read(root));
        }
    }

    // ---------------------------------------------------------------- corrupt files

    private static BpeModel readText(String json) throws IOException {
        return TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    private static BpeModel read(JsonNode root) throws IOException {
        return TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(JSON.writeValueAsBytes(root)));
    }

    /** Reading a corrupted copy of the byte model fails with an IOException whose message has every fragment. */
    private static void assertCorrupt(BpeModel m, Consumer<ObjectNode> corrupt, String... fragments) {
        ObjectNode root = TokenizerFiles.toHuggingFace(m);
        corrupt.accept(root);
        IOException e = assertThrows(IOException.class, () -> read(root));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' lacks '" + f + "'");
        }
    }

    private static ObjectNode model(ObjectNode root) {
        return (ObjectNode) root.path("model");
    }

    @Test
    void mergeNamingAnUnknownTokenIsAnError() {
        assertCorrupt(bytes, r -> ((ArrayNode) model(r).path("merges")).set(5, "Ġthe zzqq"),
            "merge 5", "not in the vocabulary", "zzqq");
        assertCorrupt(chars, r -> ((ArrayNode) model(r).path("merges")).set(0, "nosuch t</w>"),
            "merge 0", "not in the vocabulary", "nosuch");
        assertCorrupt(bytes, r -> ((ArrayNode) model(r).path("merges")).set(1, "a b c"), "merge 1", "a b c");
        assertCorrupt(bytes, r -> ((ArrayNode) model(r).path("merges")).set(2, "ab"), "merge 2");
    }

    @Test
    void mergeWhoseResultIsNotInTheVocabularyIsAnError() {
        // both tokens exist, their concatenation cannot (a letter and a newline are never in one word)
        assertEquals(-1, bytes.id("ZĊ"));
        assertCorrupt(bytes, r -> ((ArrayNode) model(r).path("merges")).set(0, "Z Ċ"), "merge 0", "(Z Ċ)",
            "not in the vocabulary");
    }

    @Test
    void nonContiguousIdsAreAnError() {
        assertCorrupt(bytes, r -> ((ObjectNode) model(r).path("vocab")).put("Ġthe", bytes.vocabSize() + 5),
            "without gaps", "Ġthe");
        assertCorrupt(bytes, r -> ((ObjectNode) model(r).path("vocab")).put("Ġthe", -1), "Ġthe");
        // a repeated id (and so a gap elsewhere)
        assertCorrupt(bytes, r -> ((ObjectNode) model(r).path("vocab")).put("Ġthe", S + 256), "repeats");
        assertCorrupt(bytes, r -> ((ObjectNode) model(r).path("vocab")).put("Ġthe", "many"), "Ġthe");
    }

    @Test
    void otherModelTypesAreAnError() {
        assertCorrupt(bytes, r -> model(r).put("type", "WordPiece"), "WordPiece", "expected BPE");
        assertCorrupt(bytes, r -> r.remove("model"), "expected BPE");
        assertCorrupt(bytes, r -> ((ObjectNode) r.path("pre_tokenizer")).put("type", "Whitespace"),
            "unsupported pre-tokenizer", "Whitespace");
        // WhitespaceSplit without the end-of-word suffix is not our char-eow layout
        assertCorrupt(chars, r -> model(r).putNull("end_of_word_suffix"), "unsupported pre-tokenizer");
        IOException e = assertThrows(IOException.class, () -> readText("[1, 2]"));
        assertTrue(e.getMessage().contains("not a JSON object"), e.getMessage());
        assertThrows(IOException.class, () -> readText("{\"model\": "));
    }

    @Test
    void misplacedOrMismatchedSpecialTokensAreAnError() {
        // added tokens must take ids 0..S-1 in order
        assertCorrupt(bytes, r -> ((ObjectNode) r.path("added_tokens").get(3)).put("id", 4),
            "added tokens must take the first ids", "[EOS]");
        // an added token whose content is not the vocabulary's token at its id
        assertCorrupt(bytes, r -> ((ObjectNode) r.path("added_tokens").get(2)).put("content", "[START]"),
            "id 2", "[START]");
        // an added token that is not a valid special token (whitespace)
        assertCorrupt(bytes, r -> ((ObjectNode) r.path("added_tokens").get(2)).put("content", "a b"), "a b");
        // byte mode: the 256 byte symbols must follow the special tokens in byte order
        assertCorrupt(bytes, r -> {
            ObjectNode v = (ObjectNode) model(r).path("vocab");
            v.put("!", S + '"');
            v.put("\"", S + '!');
        }, "must be the byte");
    }

    @Test
    void missingTokenizerIsAnError(@TempDir Path dir) {
        IOException e = assertThrows(IOException.class, () -> TokenizerFiles.load(dir));
        assertTrue(e.getMessage().contains("no tokenizer at") && e.getMessage().contains(dir.toString()),
            e.getMessage());
    }
}
