package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.cli.Options;
import org.sparklm.UsageException;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.Json;
import org.sparklm.io.SerializableConf;
import org.sparklm.model.LanguageModel;
import org.sparklm.model.LmEvaluation;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.pretrain.Seq2SeqRuns;
import org.sparklm.model.Seq2SeqModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.LmMinibatches;
import org.sparklm.train.Objective;

/**
 * The commands that use a trained model, in a plain JVM (no Spark): {@code evaluate}, {@code generate},
 * {@code fill-mask}. {@code --checkpoint} names a checkpoint directory or a run directory (its newest intact
 * checkpoint); a checkpoint holds the model, its tokenizer and its configuration, so nothing else is needed.
 */
final class ModelCommands {
    private ModelCommands() {
    }

    private static PretrainedModel load(Configuration conf, String dir, String command, Objective required)
        throws IOException {
        return PretrainedModel.load(conf, dir, command, required);
    }

    // ------------------------------------------------------------------------------------------------ evaluate

    static Options evaluateOptions() {
        return new Options("evaluate", "Validation loss and perplexity (and masked-token accuracy for mlm) of a"
            + " checkpoint on a shard directory; prints JSON. Runs in a plain JVM.")
            .required("checkpoint", "DIR", "a checkpoint directory, or a run directory (its newest intact"
                + " checkpoint)")
            .required("data", "DIR", "a shard directory encoded with the checkpoint's tokenizer")
            .value("split", "NAME", "the split to evaluate", "val")
            .value("eval-windows", "N", "windows to evaluate (consecutive, from the split's start)", "256")
            .value("batch-size", "B", "windows per forward pass", "16");
    }

    static int evaluate(String[] args, PrintStream out) throws IOException {
        Options.Parsed p = evaluateOptions().parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        PretrainedModel m = load(conf, p.string("checkpoint"), "evaluate", null);
        Path data = new Path(p.string("data"));
        ShardManifest manifest = ShardWindows.manifest(conf, data);
        if (!manifest.tokenizerSha256().equals(m.run().tokenizerSha256())) {
            throw new UsageException("evaluate: " + data + " was encoded with another tokenizer than the checkpoint's");
        }
        String split = p.string("split");
        if (manifest.shards(split).isEmpty()) {
            throw new UsageException("evaluate: " + data + " has no '" + split + "' shard");
        }
        SpecialTokens sp = m.tokenizer().specialTokens();
        LmMinibatches d = new LmMinibatches(data.toString(), manifest, m.objective(),
            m.model().config().contextLength(), p.intValue("batch-size", 1, 1 << 16), 1, m.run().seed(),
            sp.idOf(SpecialTokens.MASK), sp.size(), new SerializableConf(conf), Seq2SeqRuns.spec(m.run(), sp));
        List<MultiDataSet> batches = d.evaluationBatches(split, p.intValue("eval-windows", 1, 1 << 24));
        if (batches.isEmpty()) {
            throw new UsageException("evaluate: no window of " + d.window() + " tokens fits in the '" + split
                + "' split");
        }
        long t0 = System.nanoTime();
        LmEvaluation e = LmEvaluation.of(m.model().network(), batches, m.objective());
        ObjectNode o = Json.object();
        o.put("checkpoint", m.checkpoint().dir().toString());
        o.put("step", m.checkpoint().step());
        o.put("objective", m.objective().key());
        o.put("data", data.toString());
        o.put("split", split);
        o.put("windows", batches.stream().mapToLong(b -> b.getFeatures(0).size(0)).sum());
        o.put("predicted_tokens", e.positions());
        o.put("loss", e.loss());
        o.put("perplexity", Math.exp(e.loss()));
        if (m.objective() == Objective.MLM) {
            o.put("mlm_accuracy", e.accuracy());
        }
        o.put("seconds", Math.round((System.nanoTime() - t0) / 1e6) / 1e3);
        out.println(Json.pretty().writeValueAsString(o));
        return 0;
    }

    // ------------------------------------------------------------------------------------------------ generate

    static Options generateOptions() {
        return new Options("generate", "Continues a prompt with a causal (clm) checkpoint, or a prefix-lm one (the"
            + " prompt goes to the encoder, the decoder continues it). Greedy at temperature"
            + " 0; otherwise sampling from the top-k tokens. Runs in a plain JVM.")
            .required("checkpoint", "DIR", "a checkpoint directory, or a run directory (its newest intact"
                + " checkpoint)")
            .required("prompt", "TEXT", "the text to continue (special tokens such as [BOS] are recognised)")
            .value("max-new-tokens", "N", "tokens to generate at most (stops after [EOS])", "50")
            .value("temperature", "T", "softmax temperature; 0 is greedy", "0.8")
            .value("top-k", "K", "sample among the K most probable tokens (0: all)", "40")
            .value("seed", "S", "sampling seed", "1");
    }

    static int generate(String[] args, PrintStream out) throws IOException {
        Options.Parsed p = generateOptions().parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        PretrainedModel m = PretrainedModel.load(new Configuration(), p.string("checkpoint"), "generate",
            Set.of(Objective.CLM, Objective.PREFIX_LM), "a causal (clm) or prefix-lm one (use fill-mask or fill-spans)");
        int max = p.intValue("max-new-tokens", 1, 1 << 20);
        double temperature = p.doubleValue("temperature", 0, 100);
        int topK = p.intValue("top-k", 0, 1 << 24);
        long seed = p.longValue("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        String text;
        try {
            text = m.objective() == Objective.PREFIX_LM
                ? new Seq2SeqModel(m.model(), Seq2SeqModel.startId(m.tokenizer())).generate(m.tokenizer(),
                    p.string("prompt"), max, temperature, topK, seed)
                : m.model().generate(m.tokenizer(), p.string("prompt"), max, temperature, topK, seed);
        } catch (IllegalArgumentException e) {
            throw new UsageException("generate: " + e.getMessage());
        }
        out.println(p.string("prompt") + (m.objective() == Objective.PREFIX_LM && !text.isEmpty()
            && !text.startsWith(" ") ? " " : "") + text);
        return 0;
    }

    // ------------------------------------------------------------------------------------------------ fill-spans

    static Options fillSpansOptions() {
        return new Options("fill-spans", "Fills each sentinel (<extra_id_0>, <extra_id_1>, ...) of a text with a span"
            + " (T5) checkpoint: prints the text the model puts at each sentinel, then the completed text. Greedy by"
            + " default, beam search with --beams. Runs in a plain JVM.")
            .required("checkpoint", "DIR", "a checkpoint directory, or a run directory (its newest intact"
                + " checkpoint)")
            .required("text", "TEXT", "text with one or more sentinels, e.g. \"The <extra_id_0> walks in"
                + " <extra_id_1> park .\"")
            .value("max-new-tokens", "N", "decoder tokens to produce at most (stops after [EOS]; at most the"
                + " decoder context - 1)", "30")
            .value("beams", "K", "beam width (1: greedy)", "1");
    }

    static int fillSpans(String[] args, PrintStream out) throws IOException {
        Options.Parsed p = fillSpansOptions().parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        PretrainedModel m = PretrainedModel.load(new Configuration(), p.string("checkpoint"), "fill-spans",
            Set.of(Objective.SPAN), "a span-corruption (span) one");
        Seq2SeqModel.SpanFill f;
        try {
            f = new Seq2SeqModel(m.model(), Seq2SeqModel.startId(m.tokenizer())).fillSpans(m.tokenizer(),
                p.string("text"), p.intValue("max-new-tokens", 1, 1 << 20), p.intValue("beams", 1, 64));
        } catch (IllegalArgumentException e) {
            throw new UsageException("fill-spans: " + e.getMessage());
        }
        for (int i = 0; i < f.sentinels().size(); i++) {
            out.println(f.sentinels().get(i) + "\t" + f.spans().get(i).strip());
        }
        out.println(f.completed());
        return 0;
    }

    // ------------------------------------------------------------------------------------------------ fill-mask

    static Options fillMaskOptions() {
        return new Options("fill-mask", "Fills each [MASK] of a text with the most probable tokens of a masked-LM"
            + " (mlm) checkpoint; prints JSON. Runs in a plain JVM.")
            .required("checkpoint", "DIR", "a checkpoint directory, or a run directory (its newest intact"
                + " checkpoint)")
            .required("text", "TEXT", "text with one or more [MASK] tokens")
            .value("top-k", "K", "candidates per mask", "5");
    }

    static int fillMask(String[] args, PrintStream out) throws IOException {
        Options.Parsed p = fillMaskOptions().parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        PretrainedModel m = load(new Configuration(), p.string("checkpoint"), "fill-mask", Objective.MLM);
        String text = p.string("text");
        if (!text.contains(SpecialTokens.MASK)) {
            throw new UsageException("fill-mask: the text has no " + SpecialTokens.MASK);
        }
        List<LanguageModel.MaskFill> fills = m.model().fillMask(m.tokenizer(), text, p.intValue("top-k", 1, 1000));
        ArrayNode arr = Json.MAPPER.createArrayNode();
        for (LanguageModel.MaskFill f : fills) {
            ObjectNode o = arr.addObject();
            o.put("position", f.position());
            ArrayNode c = o.putArray("candidates");
            for (LanguageModel.Candidate cand : f.candidates()) {
                ObjectNode x = c.addObject();
                x.put("token", cand.text());
                x.put("id", cand.id());
                x.put("probability", Double.parseDouble(String.format(Locale.ROOT, "%.5f", cand.probability())));
            }
        }
        out.println(Json.pretty().writeValueAsString(arr));
        return 0;
    }
}
