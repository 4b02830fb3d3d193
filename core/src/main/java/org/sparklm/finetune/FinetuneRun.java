package org.sparklm.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Set;
import org.sparklm.config.Records;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerConfig;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;

/**
 * A fine-tuning run as resolved from its {@link FinetuneConfig}, the pretrained model and the training data: what
 * identifies its trajectory, plus where it came from. Stored as {@code "run"} in every checkpoint's
 * {@code state.json}; the classifier is rebuilt from it ({@code ClassifierModel}), and {@code --resume} refuses a
 * checkpoint whose trajectory differs.
 *
 * @param checkpoint      the pretrained checkpoint, as given
 * @param baseSha256      sha256 of the pretrained model's {@code model.zip} (null with --init scratch): a classifier
 *                        that keeps pretrained weights (head, lora, prefix) stores only its trainable parameters and
 *                        is loaded onto that exact base
 * @param tokenizerSha256 sha256 of the tokenizer.json
 * @param baseObjective   what the pretrained model learned (clm: causal attention; mlm: bidirectional)
 * @param model           the architecture (the pretrained model's, or --model's with --init scratch)
 * @param method          full, head, lora or prefix
 * @param loraRank        LoRA rank (lora)
 * @param loraAlpha       LoRA scaling numerator (lora)
 * @param loraDropout     dropout on the adapters' input (lora)
 * @param loraTargets     adapted projections (lora)
 * @param prefixLength    prefix vectors per layer (prefix)
 * @param prefixProjection hidden size of the prefix reparameterisation while training (0: none)
 * @param pooling         first, last or mean (resolved from auto)
 * @param labels          the classes, sorted
 * @param maxLength       tokens per example at most ([CLS]/[EOS] included)
 * @param init            pretrained or scratch
 * @param workers         replicas trained in parallel
 * @param batchSizePerWorker examples per minibatch per worker (at most)
 * @param averagingFrequency minibatches per worker between averagings
 * @param epochs          passes over the training examples
 * @param trainExamples   training examples
 * @param stepsPerEpoch   global steps per epoch
 * @param steps           the run's global steps (a whole number of rounds)
 * @param lr              peak learning rate
 * @param minLr           final learning rate
 * @param warmupSteps     linear warmup steps
 * @param weightDecay     decoupled weight decay on trainable matrices
 * @param gradClip        per-layer gradient clipping threshold
 * @param headDropout     dropout before the classification layer
 * @param seed            seed of the initialisation, the epochs' orders and dropout
 * @param sparkMaster     informative
 */
public record FinetuneRun(String checkpoint, String baseSha256, String tokenizerSha256, Objective baseObjective,
                          TransformerConfig model, FinetuneConfig.Method method, int loraRank, double loraAlpha,
                          double loraDropout, List<String> loraTargets, int prefixLength, int prefixProjection,
                          FinetuneConfig.Pooling pooling, List<String> labels, int maxLength,
                          FinetuneConfig.Init init, int workers, int batchSizePerWorker, int averagingFrequency,
                          double epochs, int trainExamples, int stepsPerEpoch, long steps, double lr, double minLr,
                          int warmupSteps, double weightDecay, double gradClip, double headDropout, long seed,
                          String sparkMaster) {

    private static final Set<String> NOT_TRAJECTORY = Set.of("checkpoint", "sparkMaster");

    public FinetuneRun {
        if (model != null && model.isEncoderDecoder()) {
            throw new org.sparklm.UsageException("finetune: encoder-decoder (T5) models cannot be fine-tuned as"
                + " classifiers (not implemented); use a clm or mlm model");
        }
        loraTargets = List.copyOf(loraTargets);
        labels = List.copyOf(labels);
    }

    public LabelSet labelSet() {
        return new LabelSet(labels);
    }

    /** AdamW with warmup and cosine decay over the run's steps; betas 0.9 / 0.999 (the usual fine-tuning ones). */
    public OptimizerConfig optimizer() {
        return new OptimizerConfig(lr, minLr, warmupSteps, Math.toIntExact(steps), weightDecay, gradClip, 0.9, 0.999,
            1e-8);
    }

    public long rounds() {
        return steps / averagingFrequency;
    }

    /** Whether the pretrained weights stay as they are (only the head, adapters or prefixes train). */
    public boolean keepsBase() {
        return method != FinetuneConfig.Method.FULL;
    }

    /** The first trajectory component in which this (stored) run and {@code requested} differ; null if none. */
    public String differenceFrom(FinetuneRun requested) {
        return Records.firstDifference(this, requested, NOT_TRAJECTORY);
    }

    public ObjectNode toJson() {
        return Json.MAPPER.valueToTree(this);
    }

    public static FinetuneRun fromJson(JsonNode run) {
        try {
            return Json.LENIENT.treeToValue(run, FinetuneRun.class);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a fine-tuning run configuration: " + e.getMessage(), e);
        }
    }
}
