package org.sparklm.pretrain;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.UsageException;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.Json;
import org.sparklm.io.SerializableConf;
import org.sparklm.io.StoredTokenizer;
import org.sparklm.model.TransformerConfig;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.train.LmMinibatches;
import org.sparklm.train.Objective;
import org.sparklm.train.Seq2SeqSpec;
import org.sparklm.train.SpanCorruption;

/**
 * {@code show-batch}: prints, one JSON object per line, the examples {@code pretrain} trains on at its first step on
 * worker 0 with a seed: the first {@code --count} windows of that minibatch, made by {@link LmMinibatches} exactly as
 * training makes them (same constructor, same {@code minibatches(0, 0, 1)}) and decoded from the DL4J minibatch
 * itself, so what is printed is what the network receives. Plain JVM, no Spark.
 *
 * <p>The first minibatch of worker 0 does not depend on the number of workers or the batch size beyond its length:
 * window {@code b} is at {@code ShardWindows.randomPosition(seed, 0, 0, b)} and its mask or corruption is drawn from
 * window index {@code b} (masked LM: epoch 0).
 */
public final class ShowBatch {

    private ShowBatch() {
    }

    /** The options of {@code show-batch}; the shared ones have {@code pretrain}'s defaults. */
    public record Config(
        @Opt(metavar = "DIR", help = "a shard directory (the shard job's output)", required = true)
        String data,
        @Opt(metavar = "DIR", help = "the tokenizer the shards were encoded with; checked against the shards' sha256",
            defaultText = "the tokenizer.json stored in --data")
        String tokenizer,
        @Opt(help = "the pretraining objective")
        Objective objective,
        @Opt(metavar = "NAME|FILE", help = "model config: its context_length sets the windows (as in pretrain)")
        String model,
        @Opt(metavar = "KEY=VALUE,...", help = "override model config keys, e.g. context_length=64")
        Map<String, String> modelSet,
        @Opt(metavar = "N", help = "span, prefix-lm: the encoder's context (0: the model's: an"
            + " encoder-decoder's encoder_context_length, else context_length)", min = 0,
            max = 1 << 24)
        int encoderContext,
        @Opt(metavar = "N", help = "span, prefix-lm: the decoder's context (0: the model's: an"
            + " encoder-decoder's decoder_context_length, else context_length)", min = 0,
            max = 1 << 24)
        int decoderContext,
        @Opt(metavar = "D", help = "span: fraction of each window's tokens dropped into spans", min = 1e-6,
            max = 0.999999)
        double noiseDensity,
        @Opt(metavar = "L", help = "span: mean length of a dropped span in tokens", min = 1, max = 1e6)
        double meanSpanLength,
        @Opt(metavar = "F", help = "prefix-lm: smallest fraction of a window given to the encoder", min = 0, max = 1)
        double prefixMin,
        @Opt(metavar = "F", help = "prefix-lm: largest fraction of a window given to the encoder", min = 0, max = 1)
        double prefixMax,
        @Opt(metavar = "N", help = "examples to show: the first N windows of worker 0's first minibatch (pretrain's"
            + " --batch-size-per-worker windows make it)", min = 1, max = 1 << 16)
        int count,
        @Opt(metavar = "S", help = "the run's seed (pretrain --seed)")
        long seed) implements CommandLine.Checked {

        private static final PretrainConfig P = PretrainConfig.DEFAULTS;

        /** Every default of {@code show-batch}. */
        public static final Config DEFAULTS = new Config(null, null, P.objective(), P.model(), Map.of(), 0, 0,
            P.noiseDensity(), P.meanSpanLength(), P.prefixMin(), P.prefixMax(), 4, P.seed());

        public Config {
            modelSet = modelSet == null ? Map.of() : Map.copyOf(modelSet);
        }

        @Override
        public void check() {
            if (prefixMin > prefixMax) {
                throw new IllegalArgumentException("--prefix-min " + prefixMin + " is above --prefix-max "
                    + prefixMax);
            }
        }
    }

    public static CommandLine<Config> commandLine() {
        return CommandLine.of(Config.class, Config.DEFAULTS, "show-batch",
            "Prints the examples pretrain trains on at its first step on worker 0 with --seed, one JSON object per"
                + " line: the model's input ids, the target ids, which target positions count in the loss, both"
                + " decoded to text (mlm: which positions were chosen and whether each became [MASK], a random token"
                + " or stayed; span: each sentinel's span). Made by the training code itself. Runs in a plain JVM.");
    }

    public static int run(String[] args, PrintStream out) throws IOException {
        Config c = commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        for (String line : lines(new Configuration(), c)) {
            out.println(line);
        }
        out.flush();
        return 0;
    }

    /** The JSON lines of a configuration. */
    public static List<String> lines(Configuration conf, Config c) throws IOException {
        Path dir = new Path(c.data());
        ShardManifest manifest = ShardWindows.manifest(conf, dir);
        StoredTokenizer stored;
        if (c.tokenizer() == null) {
            try {
                stored = manifest.tokenizer(conf, dir);
            } catch (java.io.FileNotFoundException e) {
                throw new UsageException("show-batch: " + e.getMessage() + " (--tokenizer DIR)");
            }
        } else {
            stored = StoredTokenizer.read(conf, c.tokenizer());
        }
        if (!stored.sha256().equals(manifest.tokenizerSha256())) {
            throw new UsageException("show-batch: " + c.data() + " was encoded with another tokenizer (sha256 "
                + manifest.tokenizerSha256() + ", " + c.tokenizer() + " has " + stored.sha256() + ")");
        }
        BpeTokenizer tok = new BpeTokenizer(stored.model());
        SpecialTokens specials = tok.specialTokens();
        int maskId = specials.idOf(SpecialTokens.MASK);
        if (c.objective() == Objective.MLM && maskId < 0) {
            throw new UsageException("show-batch: masked LM needs a " + SpecialTokens.MASK + " token in the tokenizer");
        }
        Map<String, String> set = new LinkedHashMap<>(c.modelSet());
        set.put("vocab_size", Integer.toString(manifest.vocabSize()));
        int context;
        TransformerConfig model;
        try {
            model = TransformerConfig.load(c.model(), set);
            context = model.contextLength();
        } catch (IllegalArgumentException e) {
            throw new UsageException("show-batch: --model: " + e.getMessage());
        }
        Seq2SeqSpec spec = null;
        if (c.objective().isSeq2Seq()) {
            // an encoder-decoder config has its own contexts (as pretrain uses them); a decoder-only one its context
            int te = c.encoderContext() > 0 ? c.encoderContext()
                : model.isEncoderDecoder() ? model.encoderContext() : context;
            int td = c.decoderContext() > 0 ? c.decoderContext()
                : model.isEncoderDecoder() ? model.decoderContext() : context;
            spec = Seq2SeqSpec.of(c.objective(), specials, te, td, c.noiseDensity(), c.meanSpanLength(),
                c.prefixMin(), c.prefixMax());
        }
        LmMinibatches data = new LmMinibatches(c.data(), manifest, c.objective(), context, c.count(), 1, c.seed(),
            maskId, specials.size(), new SerializableConf(conf), spec);
        if (data.trainingPositions() == 0) {
            throw new UsageException("show-batch: no training window of " + data.window() + " tokens fits in "
                + c.data() + " (" + manifest.tokens("train") + " training tokens)");
        }
        MultiDataSet batch = data.minibatches(0, 0, 1).get(0);
        List<String> lines = new ArrayList<>();
        for (ObjectNode o : describe(batch, c.objective(), tok, maskId)) {
            lines.add(Json.MAPPER.writeValueAsString(o));
        }
        return lines;
    }

    /**
     * One JSON object per example of a minibatch, read from its arrays: the model's inputs, the targets, the loss
     * mask, their text, and per objective the masked positions (mlm) or the spans (span).
     */
    public static List<ObjectNode> describe(MultiDataSet batch, Objective objective, Tokenizer tok, int maskId) {
        boolean seq2seq = objective.isSeq2Seq();
        int n = (int) batch.getFeatures(0).size(0);
        List<ObjectNode> out = new ArrayList<>(n);
        java.util.Set<Integer> sentinels = new java.util.HashSet<>();
        if (objective == Objective.SPAN) {
            for (int id : SpanCorruption.sentinels(tok.specialTokens())) {
                sentinels.add(id);
            }
        }
        for (int i = 0; i < n; i++) {
            int[] input = ids(batch.getFeatures(0), i);
            int[] inputMask = mask(batch.getFeaturesMaskArrays(), 0, i, input.length);
            int[] target = ids(batch.getLabels(0).reshape(batch.getLabels(0).size(0), batch.getLabels(0).size(2)), i);
            int[] lossMask = mask(batch.getLabelsMaskArrays(), 0, i, target.length);
            // real (non-padding) positions: seq2seq from the masks; clm/mlm windows are never padded
            int inLen = seq2seq ? length(inputMask) : input.length;
            int tgtLen = seq2seq ? length(mask(batch.getFeaturesMaskArrays(), 1, i, target.length)) : target.length;
            ObjectNode o = Json.object();
            o.put("example", i);
            o.put("objective", objective.key());
            int[] in = Arrays.copyOf(input, inLen);
            int[] tg = Arrays.copyOf(target, tgtLen);
            o.set("input_ids", array(in));
            if (seq2seq) {
                int[] dec = Arrays.copyOf(ids(batch.getFeatures(1), i), tgtLen);
                o.set("decoder_input_ids", array(dec));
            }
            o.set("target_ids", array(tg));
            o.set("loss_mask", array(Arrays.copyOf(lossMask, tgtLen)));
            o.put("input_text", tok.decode(in));
            o.put("target_text", tok.decode(tg));
            if (objective == Objective.MLM) {
                ArrayNode chosen = o.putArray("masked");
                for (int j = 0; j < tgtLen; j++) {
                    if (lossMask[j] == 1) {
                        ObjectNode m = chosen.addObject();
                        m.put("position", j);
                        m.put("original", tok.token(tg[j]));
                        m.put("original_id", tg[j]);
                        m.put("input", tok.token(in[j]));
                        m.put("input_id", in[j]);
                        m.put("became", in[j] == maskId ? "mask" : in[j] == tg[j] ? "kept" : "random");
                    }
                }
            } else if (objective == Objective.SPAN) {
                // span i: what follows sentinel i up to the next sentinel or the final EOS (an [EOS] inside a span
                // is a document boundary of the shards, part of the text)
                ArrayNode spans = o.putArray("spans");
                ObjectNode cur = null;
                List<Integer> ids = new ArrayList<>();
                for (int j = 0; j < tgtLen; j++) {
                    boolean end = j == tgtLen - 1;
                    boolean sentinel = !end && sentinels.contains(tg[j]);
                    if ((end || sentinel) && cur != null) {
                        int[] span = ids.stream().mapToInt(Integer::intValue).toArray();
                        cur.set("ids", array(span));
                        cur.put("text", tok.decode(span));
                        ids.clear();
                        cur = null;
                    }
                    if (sentinel) {
                        cur = spans.addObject();
                        cur.put("sentinel", tok.token(tg[j]));
                    } else if (cur != null) {
                        ids.add(tg[j]);
                    }
                }
            } else if (objective == Objective.PREFIX_LM) {
                o.put("prefix_tokens", inLen - 1);
            }
            out.add(o);
        }
        return out;
    }

    private static int[] ids(INDArray a, int row) {
        float[] f = a.getRow(row).toFloatVector();
        int[] out = new int[f.length];
        for (int j = 0; j < f.length; j++) {
            out[j] = (int) f[j];
        }
        return out;
    }

    /** Row {@code row} of mask {@code k}, all ones when the minibatch has none (no padding). */
    private static int[] mask(INDArray[] masks, int k, int row, int length) {
        if (masks == null || masks.length <= k || masks[k] == null) {
            int[] ones = new int[length];
            Arrays.fill(ones, 1);
            return ones;
        }
        return ids(masks[k], row);
    }

    private static int length(int[] mask) {
        int n = 0;
        while (n < mask.length && mask[n] == 1) {
            n++;
        }
        return n;
    }

    private static ArrayNode array(int[] v) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (int x : v) {
            a.add(x);
        }
        return a;
    }
}
