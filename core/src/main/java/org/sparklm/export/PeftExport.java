package org.sparklm.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.UsageException;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerLm;
import org.sparklm.model.dl4j.ClassifierHead;
import org.sparklm.model.dl4j.TransformerBlock;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.Objective;

/**
 * A LoRA classifier on a causal (clm) base in HuggingFace PEFT's adapter layout (docs/FORMATS.md, "Layout peft"):
 * {@value #ADAPTER_CONFIG} (a {@code LoraConfig}: peft_type LORA, task_type SEQ_CLS, r, lora_alpha, target_modules,
 * fan_in_fan_out true for GPT-2's Conv1D, ...) and {@value #ADAPTER_MODEL} with PEFT's key names, to be applied to
 * the base exported with {@code --layout hf}; plus {@value #HEAD_FILE} (pooling, input framing, labels: what PEFT's
 * files cannot say), {@code labels.json} and the tokenizer files.
 *
 * <p>Our adapters compute {@code x W + (alpha / r) (x A) B} with {@code A [in, r]}, {@code B [r, out]}; PEFT stores
 * {@code lora_A.weight [r, in]} and {@code lora_B.weight [out, r]} and, for a Conv1D ({@code fan_in_fan_out}), adds
 * {@code (lora_alpha / r) (lora_B lora_A)^T} to the {@code [in, out]} weight: so {@code lora_A = A^T},
 * {@code lora_B = B^T}. GPT-2 fuses q, k and v into one {@code c_attn [d, 3d]}, where ours are separate adapters on
 * its three column blocks; the exact equivalent is one adapter on {@code c_attn} of rank {@code r' = r x T} (T the
 * number of adapted q/k/v): {@code lora_A} the T matrices {@code A_t^T} stacked (in the order q, k, v),
 * {@code lora_B [3d, r']} block-structured ({@code B_t^T} in the rows of projection t and the columns of adapter t,
 * zeros elsewhere), and {@code lora_alpha' = alpha x T}, so that {@code alpha' / r' = alpha / r}.
 *
 * <p>The head is saved as PEFT saves {@code modules_to_save = ["score"]}: {@code base_model.model.score.weight}
 * {@code [C, d]} (our {@code w} transposed) and {@code base_model.model.score.bias} {@code [C]}, which
 * transformers' {@code GPT2ForSequenceClassification} (score without bias, last-token pooling) does not have: the
 * PyTorch user gives {@code score} a bias and pools as {@value #HEAD_FILE} says (docs/FORMATS.md).
 */
public final class PeftExport {
    private static final Logger LOG = LoggerFactory.getLogger(PeftExport.class);

    public static final String KEY = "peft";
    public static final String ADAPTER_CONFIG = "adapter_config.json";
    public static final String ADAPTER_MODEL = "adapter_model.safetensors";
    /** What PEFT's files cannot say: pooling, input framing, the head's names, labels, the run. */
    public static final String HEAD_FILE = "sparklm_classifier.json";
    public static final String HEAD_FORMAT = "sparklm-peft-classifier";
    /** The prefix of every key PEFT saves for a transformers model wrapped in a PeftModel. */
    public static final String PREFIX = "base_model.model.";
    public static final String SCORE_WEIGHT = PREFIX + "score.weight";
    public static final String SCORE_BIAS = PREFIX + "score.bias";

    /** Our q, k, v targets, in c_attn's column order. */
    private static final List<String> QKV = List.of("q", "k", "v");

    private PeftExport() {
    }

    /**
     * One adapted GPT-2 module of one block, in PEFT's orientation.
     *
     * @param module  the module's name in GPT2Model ({@code transformer.h.N.attn.c_attn})
     * @param rank    PEFT's r of this module
     * @param alpha   PEFT's lora_alpha of this module
     * @param loraA   {@code lora_A.weight [rank, in]}, row-major
     * @param loraB   {@code lora_B.weight [out, rank]}, row-major
     */
    public record Adapter(String module, int rank, double alpha, int in, int out, float[] loraA, float[] loraB) {
    }

    /** Refuses, in one line, a classifier PEFT's LoRA layout cannot express. */
    static void check(FinetuneRun run, String source) {
        if (run.method() != FinetuneConfig.Method.LORA) {
            throw new UsageException("--layout peft: " + source + " is a " + run.method().key() + " classifier; PEFT's"
                + " LoRA layout holds LoRA adapters only (use --layout native)");
        }
        if (run.baseObjective() != Objective.CLM) {
            throw new UsageException("--layout peft: " + source + " adapts a masked-LM (mlm) base, which has no"
                + " HuggingFace model to apply the adapters to (our pre-LayerNorm encoder is not BERT; use --layout"
                + " native)");
        }
        if (run.init() == FinetuneConfig.Init.SCRATCH || run.checkpoint() == null) {
            throw new UsageException("--layout peft: " + source + " was trained from scratch, so there is no"
                + " pretrained base to apply the adapters to (use --layout native)");
        }
    }

    /** The q/k/v targets of a run in c_attn's order (q, k, v). */
    static List<String> qkvTargets(FinetuneRun run) {
        return QKV.stream().filter(run.loraTargets()::contains).toList();
    }

    private static float[] values(Map<String, INDArray> params, String key) {
        return params.get(key).dup('c').castTo(DataType.FLOAT).data().asFloat();
    }

    /** {@code m [rows, cols]} row-major, transposed: {@code [cols, rows]}. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }

    /** Every adapted module of every block, in block order, then c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj. */
    public static List<Adapter> adapters(FinetuneRun run, ComputationGraph net) {
        int d = run.model().dModel();
        int f = run.model().dFf();
        int r = run.loraRank();
        double alpha = run.loraAlpha();
        List<String> qkv = qkvTargets(run);
        List<Adapter> out = new ArrayList<>();
        for (int l = 0; l < run.model().layers(); l++) {
            Layer layer = net.getLayer(TransformerLm.block(l));
            TransformerBlock b = (TransformerBlock) layer.conf().getLayer();
            Map<String, INDArray> p = layer.paramTable();
            String prefix = "transformer.h." + l + ".";
            if (!qkv.isEmpty()) {
                int t = qkv.size();
                int rr = r * t;
                float[] a = new float[rr * d];          // lora_A [r', d]: rows t r .. (t+1) r - 1 are A_t^T
                float[] bb = new float[3 * d * rr];     // lora_B [3d, r']: B_t^T in rows of projection t
                for (int i = 0; i < t; i++) {
                    String[] k = TransformerBlock.loraKeys(qkv.get(i)).get(0);
                    if (!b.hasLora(qkv.get(i))) {
                        throw new IllegalStateException("block " + l + " has no LoRA adapter on " + qkv.get(i));
                    }
                    float[] at = transpose(values(p, k[0]), d, r);     // A [d, r] -> [r, d]
                    System.arraycopy(at, 0, a, i * r * d, r * d);
                    float[] bt = transpose(values(p, k[1]), r, d);     // B [r, d] -> [d, r]
                    int proj = QKV.indexOf(qkv.get(i));
                    for (int o = 0; o < d; o++) {
                        System.arraycopy(bt, o * r, bb, (proj * d + o) * rr + i * r, r);
                    }
                }
                out.add(new Adapter(prefix + "attn.c_attn", rr, alpha * t, d, 3 * d, a, bb));
            }
            if (b.hasLora("o")) {
                out.add(pair(prefix + "attn.c_proj", p, "loraOA", "loraOB", r, alpha, d, d));
            }
            if (b.hasLora("mlp")) {
                out.add(pair(prefix + "mlp.c_fc", p, "loraFcA", "loraFcB", r, alpha, d, f));
                out.add(pair(prefix + "mlp.c_proj", p, "loraProjA", "loraProjB", r, alpha, f, d));
            }
        }
        return out;
    }

    private static Adapter pair(String module, Map<String, INDArray> p, String a, String b, int r, double alpha,
                                int in, int out) {
        return new Adapter(module, r, alpha, in, out, transpose(values(p, a), in, r), transpose(values(p, b), r, out));
    }

    /** PEFT's target_modules: names that match the adapted modules of every block by suffix. */
    static List<String> targetModules(FinetuneRun run) {
        List<String> t = new ArrayList<>();
        if (!qkvTargets(run).isEmpty()) {
            t.add("c_attn");
        }
        if (run.loraTargets().contains("o")) {
            t.add("attn.c_proj");
        }
        if (run.loraTargets().contains("mlp")) {
            t.add("mlp.c_fc");
            t.add("mlp.c_proj");
        }
        return t;
    }

    private static void putNumber(ObjectNode o, String key, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            o.put(key, (long) v);
        } else {
            o.put(key, v);
        }
    }

    /**
     * The adapter_config.json of a run: a LoraConfig. When only q/k/v are adapted, r and lora_alpha are c_attn's
     * (r x T, alpha x T); when other modules are adapted too, r and lora_alpha are ours and, for T > 1,
     * {@code rank_pattern} / {@code alpha_pattern} give c_attn its own.
     */
    public static ObjectNode adapterConfig(FinetuneRun run, String baseModel) {
        int t = qkvTargets(run).size();
        boolean onlyQkv = targetModules(run).equals(List.of("c_attn"));
        ObjectNode c = Json.object();
        c.put("peft_type", "LORA");
        c.put("task_type", "SEQ_CLS");
        c.put("base_model_name_or_path", baseModel);
        c.putNull("revision");
        c.put("inference_mode", true);
        c.put("r", onlyQkv ? run.loraRank() * t : run.loraRank());
        putNumber(c, "lora_alpha", onlyQkv ? run.loraAlpha() * t : run.loraAlpha());
        putNumber(c, "lora_dropout", run.loraDropout());
        c.set("target_modules", Json.MAPPER.valueToTree(targetModules(run)));
        c.put("fan_in_fan_out", true);
        c.put("bias", "none");
        c.putArray("modules_to_save").add("score");
        c.put("init_lora_weights", true);
        c.putNull("layers_to_transform");
        c.putNull("layers_pattern");
        ObjectNode rank = c.putObject("rank_pattern");
        ObjectNode alpha = c.putObject("alpha_pattern");
        if (!onlyQkv && t > 1) {
            rank.put("c_attn", run.loraRank() * t);
            putNumber(alpha, "c_attn", run.loraAlpha() * t);
        }
        c.put("use_rslora", false);
        c.put("use_dora", false);
        return c;
    }

    /** The classification head: {@code score.weight [C, d]} (our {@code w [d, C]} transposed), {@code score.bias}. */
    static List<SafeTensors.Tensor> headTensors(FinetuneRun run, ComputationGraph net) {
        Map<String, INDArray> p = net.getLayer(ClassifierModel.HEAD).paramTable();
        int d = run.model().dModel();
        int classes = run.labels().size();
        float[] w = transpose(values(p, ClassifierHead.W), d, classes);
        float[] b = values(p, ClassifierHead.B);
        return List.of(new SafeTensors.Tensor(SCORE_WEIGHT, new long[] {classes, d}, () -> w),
            new SafeTensors.Tensor(SCORE_BIAS, new long[] {classes}, () -> b));
    }

    /** The adapter file's tensors, in file order: each module's lora_A then lora_B, then the head. */
    public static List<SafeTensors.Tensor> tensors(FinetuneRun run, ComputationGraph net) {
        List<SafeTensors.Tensor> out = new ArrayList<>();
        for (Adapter a : adapters(run, net)) {
            out.add(new SafeTensors.Tensor(PREFIX + a.module() + ".lora_A.weight", new long[] {a.rank(), a.in()},
                a::loraA));
            out.add(new SafeTensors.Tensor(PREFIX + a.module() + ".lora_B.weight", new long[] {a.out(), a.rank()},
                a::loraB));
        }
        out.addAll(headTensors(run, net));
        return out;
    }

    /** {@value #HEAD_FILE}: how to compute our probabilities from the base, the adapter and the head. */
    static ObjectNode headConfig(ClassifierSnapshot m) {
        FinetuneRun run = m.run();
        SpecialTokens sp = m.tokenizer().specialTokens();
        FinetuneConfig.Pooling pooling = ClassifierModel.resolve(run.pooling());
        ObjectNode c = Json.object();
        c.put("format", HEAD_FORMAT);
        c.put("format_version", 1);
        c.put("num_labels", run.labels().size());
        c.set("labels", Json.MAPPER.valueToTree(run.labels()));
        c.put("pooling", pooling.key());
        ObjectNode score = c.putObject("score");
        score.put("weight", SCORE_WEIGHT);
        score.put("bias", SCORE_BIAS);
        score.put("applies_to", "the pooled hidden state after transformer.ln_f");
        ObjectNode input = c.putObject("input");
        int prefix = FinetunedModel.prefixId(run.pooling(), sp);
        int suffix = FinetunedModel.suffixId(run.baseObjective(), sp);
        putId(input, "prepend_token_id", prefix);
        putId(input, "append_token_id", suffix);
        input.put("max_length", run.maxLength());
        input.put("truncation", "the end of the text, before the appended token");
        putId(input, "pad_token_id", sp.idOf(SpecialTokens.PAD));
        input.put("padding_side", "right");
        ObjectNode lora = c.putObject("lora");
        lora.set("targets", Json.MAPPER.valueToTree(run.loraTargets()));
        lora.put("r", run.loraRank());
        putNumber(lora, "lora_alpha", run.loraAlpha());
        List<String> qkv = qkvTargets(run);
        if (!qkv.isEmpty()) {
            ObjectNode attn = lora.putObject("c_attn");
            attn.set("stacked", Json.MAPPER.valueToTree(qkv));
            attn.put("r", run.loraRank() * qkv.size());
            putNumber(attn, "lora_alpha", run.loraAlpha() * qkv.size());
        }
        c.put("base_checkpoint", run.checkpoint());
        c.put("base_sha256", run.baseSha256());
        c.put("step", m.step());
        c.set("run", run.toJson());
        return c;
    }

    private static void putId(ObjectNode o, String key, int id) {
        if (id >= 0) {
            o.put(key, id);
        } else {
            o.putNull(key);
        }
    }

    /**
     * Exports a LoRA classifier in PEFT's layout to {@code output}, written aside and renamed into place.
     *
     * @param baseModel adapter_config.json's base_model_name_or_path (null: the base checkpoint of the run)
     * @throws UsageException for a classifier that is not LoRA on a pretrained clm base (before anything is written)
     */
    public static ModelExport.Result export(Configuration conf, ClassifierSnapshot m, String output,
                                            boolean overwrite, String baseModel) throws IOException {
        check(m.run(), m.source());
        ObjectNode config = adapterConfig(m.run(), baseModel != null ? baseModel : m.run().checkpoint());
        List<SafeTensors.Tensor> tensors = tensors(m.run(), m.net());
        Map<String, String> meta = ClassifierExport.metadata(m, KEY);
        try {
            meta.put(ModelExport.META_RUN, Json.MAPPER.writeValueAsString(m.run().toJson()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        long values = tensors.stream().mapToLong(SafeTensors.Tensor::elements).sum();
        long bytes;
        try (AtomicOutput out = AtomicOutput.begin(conf, output, overwrite)) {
            try (OutputStream o = out.create(ADAPTER_MODEL)) {
                bytes = SafeTensors.write(o, tensors, meta);
            }
            try (OutputStream o = out.create(ADAPTER_CONFIG)) {
                ModelExport.writeJson(o, config);
            }
            try (OutputStream o = out.create(HEAD_FILE)) {
                ModelExport.writeJson(o, headConfig(m));
            }
            ClassifierExport.writeLabels(out, m.run().labelSet());
            ModelExport.writeTokenizerFiles(out, m.tokenizerJson(), m.tokenizer(),
                m.run().model().contextLength());
            out.commit();
            LOG.info("export: LoRA classifier {} -> {} (PEFT layout, {} tensors, {} values, {} bytes)", m.source(),
                out.target(), tensors.size(), values, bytes);
            return new ModelExport.Result(out.target(), KEY, tensors.size(), values, bytes);
        }
    }
}
