package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.data.DocFormat;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.Json;
import org.sparklm.io.SerializableConf;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.LmMinibatches;
import org.sparklm.train.Objective;
import org.sparklm.train.PrefixLm;
import org.sparklm.train.SpanCorruption;
import org.sparklm.jobs.MainRun.Outcome;

/**
 * {@code show-batch} through the entry point: every objective prints exactly worker 0's first minibatch of the
 * training code, decoded; bad input is one error line and exit code 2.
 */
class ShowBatchTest extends SparkTestBase {
    @TempDir
    static Path tmp;
    private static Path shards;
    private static Path plainShards;   // a tokenizer without sentinels
    private static BpeTokenizer tok;
    private static ShardManifest manifest;

    @BeforeAll
    static void shards() throws Exception {
        List<String> lines = BpeTrainJobTest.brownLines(1500);
        BpeModel model = BpeTrainJobTest.direct(lines, BpeMode.BYTE, 500);
        tok = new BpeTokenizer(model);
        shards = shard("shards", model, lines.subList(0, 700));
        manifest = ShardWindows.manifest(new Configuration(), new org.apache.hadoop.fs.Path(shards.toUri()));
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 400, 2,
            SpecialTokens.parse("[PAD],[UNK],[BOS],[EOS],[MASK]")));
        BpeTrainJobTest.countWords(lines.subList(0, 300), BpeMode.BYTE).forEach(t::addWord);
        plainShards = shard("plain", t.train().model(), lines.subList(0, 300));
    }

    private static Path shard(String name, BpeModel model, List<String> lines) throws IOException {
        Path tokDir = tmp.resolve(name + "-tok");
        TokenizerFiles.save(model, tokDir);
        Path corpus = tmp.resolve(name + ".txt");
        Files.write(corpus, lines);
        Path out = tmp.resolve(name);
        ShardJob.run(sc, new ShardJob.Params(List.of(corpus.toString()), tokDir.toString(), out.toString(), 0.05,
            1, DocFormat.LINE, "text", 1, "[EOS]", 1, false, false));
        return out;
    }

    private static Outcome run(String... args) {
        return MainRun.run(args);
    }

    /** Worker 0's first minibatch as pretrain makes it (its options, its LmMinibatches constructor). */
    private static MultiDataSet training(Objective o, int context, int batch, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("--data", shards.toString(), "--output", "unused", "--steps",
            "1", "--objective", o.key(), "--seed", "5", "--batch-size-per-worker", Integer.toString(batch)));
        args.addAll(List.of(extra));
        PretrainConfig c = PretrainConfig.commandLine().parse(args.toArray(new String[0]));
        SpecialTokens sp = tok.specialTokens();
        LmMinibatches d = new LmMinibatches(c.data(), manifest, c.objective(), context, c.batchSizePerWorker(), 3,
            c.seed(), sp.idOf(SpecialTokens.MASK), sp.size(), new SerializableConf(new Configuration()),
            c.seq2seq(sp, context, context));
        return d.minibatches(0, 0, 1).get(0);
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    private static int[] row(INDArray a, int i, int n) {
        float[] f = a.reshape(a.size(0), a.length() / a.size(0)).getRow(i).toFloatVector();
        int[] v = new int[n];
        for (int j = 0; j < n; j++) {
            v[j] = (int) f[j];
        }
        return v;
    }

    private static List<JsonNode> show(String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("show-batch", "--data", shards.toString(), "--seed", "5"));
        if (!List.of(args).contains("--model")) {
            a.addAll(List.of("--model-set", "context_length=32"));
        }
        a.addAll(List.of(args));
        Outcome o = run(a.toArray(new String[0]));
        assertEquals(0, o.code(), o.err());
        List<JsonNode> out = new ArrayList<>();
        for (String line : o.out().strip().split("\n")) {
            out.add(Json.MAPPER.readTree(line));
        }
        return out;
    }

    @Test
    void everyObjectivePrintsTheFirstMinibatchOfTraining() throws IOException {
        int mlmChosen = 0;
        int mlmPositions = 0;
        for (Objective o : Objective.values()) {
            List<JsonNode> lines = show("--objective", o.key(), "--count", "3");
            assertEquals(3, lines.size(), o.key());
            // the same examples as the first rows of a training minibatch of another size, with other workers
            MultiDataSet ds = training(o, 32, 8);
            for (int i = 0; i < 3; i++) {
                JsonNode l = lines.get(i);
                String what = o.key() + " example " + i;
                assertEquals(o.key(), l.path("objective").asText());
                int[] in = ints(l.get("input_ids"));
                int[] tg = ints(l.get("target_ids"));
                int[] loss = ints(l.get("loss_mask"));
                assertArrayEquals(row(ds.getFeatures(0), i, in.length), in, what);
                assertArrayEquals(row(ds.getLabels(0), i, tg.length), tg, what);
                if (ds.getLabelsMaskArray(0) != null) {
                    assertArrayEquals(row(ds.getLabelsMaskArray(0), i, tg.length), loss, what);
                }
                assertEquals(tok.decode(in), l.path("input_text").asText(), what);
                assertEquals(tok.decode(tg), l.path("target_text").asText(), what);
                if (o.isSeq2Seq()) {
                    float[] encMask = ds.getFeaturesMaskArray(0).getRow(i).toFloatVector();
                    float[] decMask = ds.getFeaturesMaskArray(1).getRow(i).toFloatVector();
                    assertEquals(in.length, (int) sum(encMask), "the real encoder tokens, " + what);
                    assertEquals(tg.length, (int) sum(decMask), "the real target tokens, " + what);
                    assertArrayEquals(row(ds.getFeatures(1), i, tg.length), ints(l.get("decoder_input_ids")), what);
                    assertEquals(tok.specialTokens().idOf(SpecialTokens.EOS), tg[tg.length - 1], what);
                } else {
                    assertEquals(o == Objective.CLM ? 32 : 32, in.length, what);
                }
                if (o == Objective.CLM) {
                    assertArrayEquals(Arrays.copyOfRange(in, 1, 32), Arrays.copyOf(tg, 31), "shifted by one");
                }
                if (o == Objective.MLM) {
                    int maskId = tok.specialTokens().idOf(SpecialTokens.MASK);
                    for (JsonNode m : l.get("masked")) {
                        int p = m.path("position").asInt();
                        assertEquals(1, loss[p]);
                        assertEquals(tg[p], m.path("original_id").asInt());
                        assertEquals(in[p], m.path("input_id").asInt());
                        String became = m.path("became").asText();
                        assertEquals(in[p] == maskId ? "mask" : in[p] == tg[p] ? "kept" : "random", became);
                        mlmChosen++;
                    }
                    assertEquals(Arrays.stream(loss).sum(), l.get("masked").size(), what);
                    mlmPositions += in.length;
                    for (int j = 0; j < in.length; j++) {
                        assertTrue(loss[j] == 1 || in[j] == tg[j], "unchosen positions keep their token");
                    }
                }
                if (o == Objective.SPAN) {
                    // the spans put back in place of their sentinels give the window training read
                    int[] restored = restoreSpans(l);
                    assertEquals(SpanCorruption.lengths(32, 0.15, 3).window(), restored.length, what);
                    assertArrayEquals(window(restored.length, i), restored, what);
                }
                if (o == Objective.PREFIX_LM) {
                    assertEquals(in.length - 1, l.path("prefix_tokens").asInt());
                    int[] w = new int[in.length - 1 + tg.length - 1];
                    assertEquals(PrefixLm.windowLength(32, 32, 0, 1), w.length, what);
                    System.arraycopy(in, 0, w, 0, in.length - 1);
                    System.arraycopy(tg, 0, w, in.length - 1, tg.length - 1);
                    assertArrayEquals(window(w.length, i), w, what);
                }
            }
        }
        assertEquals(0.15, mlmChosen / (double) mlmPositions, 0.05, "about 15% chosen");
        // the seed is training's: another seed shows other windows
        assertTrue(!show("--objective", "clm", "--count", "1").get(0).get("input_ids")
            .equals(show("--objective", "clm", "--count", "1", "--seed", "6").get(0).get("input_ids")));
        // the objective's options are training's
        List<JsonNode> dense = show("--objective", "span", "--count", "2", "--noise-density", "0.5",
            "--mean-span-length", "2");
        MultiDataSet ds = training(Objective.SPAN, 32, 2, "--noise-density", "0.5", "--mean-span-length", "2");
        int[] in = ints(dense.get(1).get("input_ids"));
        assertArrayEquals(row(ds.getFeatures(0), 1, in.length), in);
    }

    /** The input with each sentinel replaced by its span from "spans" (checked against the sentinel order). */
    private static int[] restoreSpans(JsonNode l) {
        int[] in = ints(l.get("input_ids"));
        List<Integer> restored = new ArrayList<>();
        JsonNode spans = l.get("spans");
        int next = 0;
        for (int j = 0; j < in.length - 1; j++) {
            if (tok.token(in[j]).startsWith("<extra_id_")) {
                JsonNode s = spans.get(next);
                assertEquals(SpecialTokens.sentinel(next++), s.path("sentinel").asText());
                assertEquals(tok.decode(ints(s.get("ids"))), s.path("text").asText());
                for (int id : ints(s.get("ids"))) {
                    restored.add(id);
                }
            } else {
                restored.add(in[j]);
            }
        }
        assertEquals(spans.size(), next, "one span per sentinel");
        return restored.stream().mapToInt(x -> x).toArray();
    }

    @Test
    void spansHoldingADocumentBoundaryAreShownWhole() throws IOException {
        int eos = tok.specialTokens().idOf(SpecialTokens.EOS);
        int window = SpanCorruption.lengths(128, 0.15, 3).window();
        List<JsonNode> lines = show("--objective", "span", "--count", "8", "--model-set", "context_length=128");
        int eosInSpans = 0;
        for (int i = 0; i < lines.size(); i++) {
            int[] restored = restoreSpans(lines.get(i));
            assertArrayEquals(window(window, i), restored, "example " + i);
            for (JsonNode s : lines.get(i).get("spans")) {
                for (int id : ints(s.get("ids"))) {
                    eosInSpans += id == eos ? 1 : 0;
                }
            }
        }
        assertTrue(eosInSpans > 0, "the case is covered: an [EOS] of the shards inside a dropped span");
    }

    @Test
    void anEncoderDecoderConfigGivesTheContexts() throws IOException {
        // t5-tiny: encoder 64, decoder 32 positions; span windows of T5's length for 64
        List<JsonNode> lines = show("--objective", "span", "--count", "2", "--model", "t5-tiny");
        int window = SpanCorruption.lengths(64, 0.15, 3).window();
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(SpanCorruption.lengths(64, 0.15, 3).input(), lines.get(i).get("input_ids").size());
            assertArrayEquals(window(window, i), restoreSpans(lines.get(i)));
        }
        List<JsonNode> prefix = show("--objective", "prefix-lm", "--count", "2", "--model", "t5-tiny");
        int w = PrefixLm.windowLength(64, 32, 0, 1);
        assertEquals(32, w);
        for (JsonNode l : prefix) {
            assertEquals(w + 2, l.get("input_ids").size() + l.get("target_ids").size());
        }
    }

    private static double sum(float[] f) {
        double s = 0;
        for (float x : f) {
            s += x;
        }
        return s;
    }

    /** The raw training window b of worker 0 at step 0 (seed 5). */
    private static int[] window(int length, int b) throws IOException {
        try (ShardWindows sw = ShardWindows.open(new Configuration(), new org.apache.hadoop.fs.Path(shards.toUri()),
            manifest, "train", length, false)) {
            return sw.window(ShardWindows.randomPosition(5, 0, 0, b, sw.positions()));
        }
    }

    @Test
    void badInputIsOneErrorLineAndExitCode2() {
        for (String[] args : new String[][] {
            {"show-batch", "--data", plainShards.toString(), "--objective", "span"},
            {"show-batch", "--data", shards.toString(), "--objective", "span", "--encoder-context", "2"},
            {"show-batch", "--data", shards.toString(), "--objective", "span", "--encoder-context", "1000",
                "--decoder-context", "1000", "--mean-span-length", "1"},
            {"show-batch", "--data", shards.toString(), "--objective", "prefix-lm", "--prefix-min", "0.9",
                "--prefix-max", "0.1"},
            {"show-batch", "--data", shards.toString(), "--objective", "t5"},
            {"show-batch", "--objective", "clm"},
            {"show-batch", "--data", tmp.resolve("nothing").toString()},
            {"show-batch", "--data", shards.toString(), "--model-set", "context_length=100000"}}) {
            Outcome o = run(args);
            String what = String.join(" ", args) + ": " + o.err();
            assertEquals(2, o.code(), what);
            assertTrue(o.err().startsWith("sparklm show-batch: error: "), what);
            assertEquals(1, o.err().strip().lines().count(), what);
            assertEquals("", o.out(), what);
        }
        assertTrue(run("show-batch", "--data", plainShards.toString(), "--objective", "span").err()
            .contains("<extra_id_0>"));
        assertTrue(run("show-batch", "--data", shards.toString(), "--objective", "span", "--encoder-context", "2")
            .err().contains("too short"));
        assertTrue(run("show-batch", "--data", shards.toString(), "--objective", "span", "--encoder-context", "1000",
            "--decoder-context", "1000", "--mean-span-length", "1").err().contains("sentinels"));
        Outcome help = run("show-batch", "--help");
        assertEquals(0, help.code());
        for (String opt : new String[] {"--data", "--tokenizer", "--objective", "--model", "--count", "--seed",
            "--noise-density", "--mean-span-length", "--prefix-min", "--prefix-max", "--encoder-context"}) {
            assertTrue(help.out().contains(opt), opt);
        }
    }
}
