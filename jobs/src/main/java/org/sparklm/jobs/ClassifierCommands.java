package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.finetune.ClassificationMetrics;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.finetune.LabelSet;
import org.sparklm.finetune.LabelledText;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.Json;
import org.sparklm.pretrain.PretrainedModel;

/**
 * The commands that use a fine-tuned classifier, in a plain JVM (no Spark): {@code classify} (texts on standard
 * input, or an evaluation on labelled files) and {@code finetune-merge} (LoRA adapters folded into the weights).
 */
final class ClassifierCommands {
    private ClassifierCommands() {
    }

    /** {@code classify}'s options. */
    record ClassifyConfig(
        @Opt(metavar = "DIR", help = "a classifier: a fine-tuning run directory (its best/ classifier, else its newest"
            + " checkpoint) or a classifier checkpoint directory", required = true)
        String model,
        @Opt(metavar = "K", help = "also print the K most probable labels of each text", min = 0, max = 1 << 16)
        int topK,
        @Opt(metavar = "PATH...", help = "evaluate on labelled text instead of reading standard input: prints"
            + " accuracy, macro-F1, examples and per-class figures as JSON")
        List<String> eval,
        @Opt(metavar = "jsonl|tsv", help = "--eval: jsonl (text and label fields) or tsv (label<TAB>text)")
        LabelledText.Format format,
        @Opt(metavar = "NAME", help = "--eval jsonl: the text field or a JSON pointer")
        String textField,
        @Opt(metavar = "NAME", help = "--eval jsonl: the label field or a JSON pointer")
        String labelField,
        @Opt(metavar = "B", help = "texts per forward pass", min = 1, max = 1 << 16)
        int batchSize) {

        static final ClassifyConfig DEFAULTS = new ClassifyConfig(null, 0, List.of(), LabelledText.Format.JSONL,
            "text", "label", 32);

        ClassifyConfig {
            eval = eval == null ? List.of() : List.copyOf(eval);
        }
    }

    static CommandLine<ClassifyConfig> classifyCommandLine() {
        return CommandLine.of(ClassifyConfig.class, ClassifyConfig.DEFAULTS, "classify",
            "Classifies text lines read on standard input with a fine-tuned classifier, one JSON object per line"
                + " (the label and its probability, and the --top-k labels); or, with --eval, evaluates it on"
                + " labelled text. Runs in a plain JVM.");
    }

    static int classify(String[] args, InputStream stdin, PrintStream out) throws IOException {
        ClassifyConfig c = classifyCommandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        FinetunedModel m = FinetunedModel.load(conf, c.model(), "classify", false);
        LabelSet labels = m.labels();
        if (!c.eval().isEmpty()) {
            out.println(Json.pretty().writeValueAsString(evaluate(conf, m, c)));
            return 0;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
        List<String> batch = new ArrayList<>();
        for (String line; (line = in.readLine()) != null; ) {
            batch.add(line);
            if (batch.size() == c.batchSize()) {
                print(m, labels, batch, c, out);
                batch.clear();
            }
        }
        print(m, labels, batch, c, out);
        return 0;
    }

    private static void print(FinetunedModel m, LabelSet labels, List<String> texts, ClassifyConfig c,
                              PrintStream out) throws IOException {
        if (texts.isEmpty()) {
            return;
        }
        float[][] p = m.probabilities(texts, c.batchSize());
        for (float[] row : p) {
            Integer[] order = new Integer[row.length];
            for (int i = 0; i < row.length; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> row[a] != row[b] ? Float.compare(row[b], row[a])
                : Integer.compare(a, b));
            ObjectNode o = Json.object();
            o.put("label", labels.label(order[0]));
            o.put("probability", round(row[order[0]]));
            if (c.topK() > 0) {
                ArrayNode top = o.putArray("top");
                for (int k = 0; k < Math.min(c.topK(), row.length); k++) {
                    top.addObject().put("label", labels.label(order[k])).put("probability", round(row[order[k]]));
                }
            }
            out.println(Json.MAPPER.writeValueAsString(o));
        }
    }

    private static double round(float p) {
        return Math.round(p * 1e6) / 1e6;
    }

    /** Accuracy, macro-F1, per-class figures on labelled files read here (any Hadoop FileSystem). */
    private static ObjectNode evaluate(Configuration conf, FinetunedModel m, ClassifyConfig c) throws IOException {
        LabelledText reader = new LabelledText(c.format(), c.textField(), c.labelField());
        LabelSet labels = m.labels();
        List<String> texts = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        long malformed = 0;
        long blank = 0;
        for (var f : HadoopFiles.expandInputs(conf, c.eval())) {
            try (InputStream s = HadoopFiles.open(conf, f.getPath().toString());
                 BufferedReader r = new BufferedReader(new InputStreamReader(s, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.isBlank()) {
                        blank++;
                        continue;
                    }
                    byte[] b = line.getBytes(StandardCharsets.UTF_8);
                    LabelledText.Example ex;
                    try {
                        ex = reader.parse(b, 0, b.length);
                    } catch (LabelledText.Malformed e) {
                        malformed++;
                        continue;
                    }
                    int id = labels.id(ex.label());
                    if (id < 0) {
                        throw new UsageException("classify: --eval: label '" + ex.label() + "' in " + f.getPath()
                            + " is not one of the classifier's (" + String.join(", ", labels.labels()) + ")");
                    }
                    texts.add(ex.text());
                    truth.add(id);
                }
            }
        }
        if (texts.isEmpty()) {
            throw new UsageException("classify: --eval: no labelled example in " + String.join(" ", c.eval()));
        }
        float[][] p = m.probabilities(texts, c.batchSize());
        ClassificationMetrics metrics = new ClassificationMetrics(labels.size());
        for (int i = 0; i < p.length; i++) {
            int best = 0;
            for (int k = 1; k < p[i].length; k++) {
                if (p[i][k] > p[i][best]) {
                    best = k;
                }
            }
            metrics.add(truth.get(i), best);
        }
        ObjectNode o = metrics.toJson(labels);
        o.put("model", m.checkpoint().dir().toString());
        o.put("malformed_lines", malformed);
        o.put("blank_lines", blank);
        return o;
    }

    // ------------------------------------------------------------------------------------------------ merge

    /** {@code finetune-merge}'s options. */
    record MergeConfig(
        @Opt(metavar = "DIR", help = "a LoRA classifier (a fine-tuning run directory or a classifier checkpoint)",
            required = true)
        String model,
        @Opt(metavar = "DIR", help = "the merged classifier's directory (must not exist unless --overwrite)",
            required = true)
        String output,
        @Opt(help = "replace an existing output directory")
        boolean overwrite) {
        static final MergeConfig DEFAULTS = new MergeConfig(null, null, false);
    }

    static CommandLine<MergeConfig> mergeCommandLine() {
        return CommandLine.of(MergeConfig.class, MergeConfig.DEFAULTS, "finetune-merge",
            "Folds a LoRA classifier's adapters into its weights (W + (alpha / r) A B): a standalone classifier that"
                + " predicts what the adapter model predicts, at the cost of the base model, with no base checkpoint"
                + " needed. Runs in a plain JVM.");
    }

    static int merge(String[] args, PrintStream out) throws IOException {
        MergeConfig c = mergeCommandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        FinetunedModel m = FinetunedModel.load(conf, c.model(), "finetune-merge", false);
        if (m.run().method() != FinetuneConfig.Method.LORA) {
            throw new UsageException("finetune-merge: " + m.checkpoint().dir() + " is a " + m.run().method().key()
                + " classifier; only LoRA adapters can be merged");
        }
        ClassifierModel.Merged merged = ClassifierModel.mergeLora(m.run(), m.net());
        byte[] tokenizer;
        try (InputStream in = m.checkpoint().open(PretrainedModel.TOKENIZER_BLOB)) {
            tokenizer = in.readAllBytes();
        }
        try (AtomicOutput o = AtomicOutput.begin(conf, c.output(), c.overwrite())) {
            CheckpointStore store = CheckpointStore.open(conf, o.temp().toString(), 1);
            ObjectNode state = Json.object();
            state.put("step", m.checkpoint().step());
            state.put("merged_from", m.checkpoint().dir().toString());
            state.set("run", merged.run().toJson());
            store.write(m.checkpoint().step(), state, FinetunedModel.blobs(merged.net(), merged.run().labelSet(),
                tokenizer));
            o.commit();
        }
        out.println("finetune-merge: " + c.output() + ": LoRA (rank " + m.run().loraRank() + ", "
            + String.join(",", m.run().loraTargets()) + ") folded into the weights; " + merged.net().numParams()
            + " parameters, no base checkpoint needed");
        return 0;
    }
}
