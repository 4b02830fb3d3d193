package org.sparklm.pretrain;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Set;
import org.sparklm.config.Records;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerConfig;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;
import org.sparklm.train.OuterOptimizer;
import org.sparklm.train.SecondMoment;

/**
 * A pretraining run as resolved from its {@link PretrainConfig} and its inputs: what identifies its trajectory (the
 * model as built, the objective, the data order's seed, the workers, the batch, the averaging frequency, the total
 * steps, the optimizer) plus where it came from. Stored as {@code "run"} in every checkpoint's {@code state.json}
 * (keys as today's files, snake_case); {@code --resume} refuses a checkpoint whose trajectory differs
 * ({@link #differenceFrom}), and the commands that use a model read its config and tokenizer hash from here.
 *
 * @param data          the shard directory, as given
 * @param tokenizerSha256 sha256 of the tokenizer.json the shards were encoded with
 * @param objective     what the model learns
 * @param modelName     the model config's name or file, as given
 * @param model         the model as built (vocabulary from the tokenizer, attention from the objective)
 * @param parameters    the model's parameter count
 * @param workers       replicas trained in parallel
 * @param batchSizePerWorker windows per minibatch per worker
 * @param averagingFrequency minibatches per worker between averagings
 * @param steps         the run's global steps (a whole number of rounds)
 * @param lr            peak learning rate
 * @param minLr         final learning rate
 * @param warmupSteps   linear warmup steps
 * @param weightDecay   decoupled weight decay
 * @param gradClip      per-layer gradient L2 clipping threshold (0: none)
 * @param beta1         Adam's first-moment decay (absent in files of earlier versions: 0.9)
 * @param beta2         Adam's second-moment decay (absent in files of earlier versions: 0.95)
 * @param adamEpsilon   Adam's epsilon (absent in files of earlier versions: 1e-8)
 * @param outerOptimizer what the driver does with each round's average (absent in files of earlier versions:
 *                      average)
 * @param outerLr       the outer learning rate (nesterov)
 * @param outerMomentum the outer momentum (nesterov)
 * @param seed          seed of the initialisation, the data order and the masks
 * @param sparkMaster   the master the run was started on (informative)
 * @param noiseDensity  span: the fraction of tokens dropped (null for the other objectives and in files of earlier
 *                      versions)
 * @param meanSpanLength span: the mean dropped span length (null likewise)
 * @param prefixMin     prefix-lm: the smallest fraction of a window given to the encoder (null for the others)
 * @param prefixMax     prefix-lm: the largest fraction (null for the others)
 * @param secondMoment  what averaging does with Adam's second moment (absent in files of earlier versions: mean)
 * @param keepWorkerState each worker keeps its own Adam state between rounds (absent in files of earlier versions:
 *                      false)
 */
public record PretrainRun(String data, String tokenizerSha256, Objective objective, String modelName,
                          TransformerConfig model, long parameters, int workers, int batchSizePerWorker,
                          int averagingFrequency, long steps, double lr, double minLr, int warmupSteps,
                          double weightDecay, double gradClip, Double beta1, Double beta2, Double adamEpsilon,
                          OuterOptimizer.Kind outerOptimizer, Double outerLr, Double outerMomentum, long seed,
                          String sparkMaster, @JsonInclude(JsonInclude.Include.NON_NULL) Double noiseDensity,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Double meanSpanLength,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Double prefixMin,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Double prefixMax,
                          SecondMoment secondMoment, Boolean keepWorkerState) {

    /** Components that describe a run without changing its trajectory. */
    private static final Set<String> NOT_TRAJECTORY = Set.of("data", "modelName", "parameters", "sparkMaster");

    public PretrainRun {
        beta1 = beta1 == null ? OptimizerConfig.BETA1 : beta1;
        beta2 = beta2 == null ? OptimizerConfig.BETA2 : beta2;
        adamEpsilon = adamEpsilon == null ? OptimizerConfig.EPSILON : adamEpsilon;
        outerOptimizer = outerOptimizer == null ? OuterOptimizer.Kind.AVERAGE : outerOptimizer;
        outerLr = outerLr == null ? 1.0 : outerLr;
        outerMomentum = outerMomentum == null ? 0.0 : outerMomentum;
        secondMoment = secondMoment == null ? SecondMoment.MEAN : secondMoment;
        keepWorkerState = keepWorkerState != null && keepWorkerState;
    }

    /**
     * A run of an objective without options of its own (clm, mlm), with the second moment averaged and the workers'
     * state shared: the run of every caller that is not {@code pretrain} itself (import, the scaling sweep).
     */
    public PretrainRun(String data, String tokenizerSha256, Objective objective, String modelName,
                       TransformerConfig model, long parameters, int workers, int batchSizePerWorker,
                       int averagingFrequency, long steps, double lr, double minLr, int warmupSteps,
                       double weightDecay, double gradClip, Double beta1, Double beta2, Double adamEpsilon,
                       OuterOptimizer.Kind outerOptimizer, Double outerLr, Double outerMomentum, long seed,
                       String sparkMaster) {
        this(data, tokenizerSha256, objective, modelName, model, parameters, workers, batchSizePerWorker,
            averagingFrequency, steps, lr, minLr, warmupSteps, weightDecay, gradClip, beta1, beta2, adamEpsilon,
            outerOptimizer, outerLr, outerMomentum, seed, sparkMaster, null, null, null, null, null, null);
    }

    /**
     * The objective's own options as a run stores them: span's noise density and mean span length, prefix-lm's
     * fraction range, null where the objective does not use them (so they never make a clm or mlm resume differ).
     *
     * @return {noiseDensity, meanSpanLength, prefixMin, prefixMax}
     */
    public static Double[] objectiveOptions(PretrainConfig c) {
        boolean span = c.objective() == Objective.SPAN;
        boolean prefix = c.objective() == Objective.PREFIX_LM;
        return new Double[] {span ? c.noiseDensity() : null, span ? c.meanSpanLength() : null,
            prefix ? c.prefixMin() : null, prefix ? c.prefixMax() : null};
    }

    /** A new outer optimizer of this run (no momentum yet). */
    public OuterOptimizer outer() {
        return new OuterOptimizer(outerOptimizer, outerLr, outerMomentum);
    }

    /** The optimizer of this run. */
    public OptimizerConfig optimizer() {
        return new OptimizerConfig(lr, minLr, warmupSteps, Math.toIntExact(steps), weightDecay, gradClip, beta1, beta2,
            adamEpsilon);
    }

    /**
     * Tokens one global step consumes over all workers (model inputs; the clm label token not counted; an
     * encoder-decoder's encoder plus decoder positions).
     */
    public long tokensPerStep() {
        return (long) workers * batchSizePerWorker * model.tokensPerExample();
    }

    public long rounds() {
        return steps / averagingFrequency;
    }

    /**
     * The first component in which this (the stored run) and {@code requested} differ in their trajectory, as
     * {@code "steps is 12 but this run asks for 24"}; null when they agree.
     */
    public String differenceFrom(PretrainRun requested) {
        return Records.firstDifference(this, requested, NOT_TRAJECTORY);
    }

    public ObjectNode toJson() {
        return Json.MAPPER.valueToTree(this);
    }

    /** Reads {@code state.json}'s {@code "run"} (unknown keys of later versions ignored). */
    public static PretrainRun fromJson(JsonNode run) {
        try {
            return Json.LENIENT.treeToValue(run, PretrainRun.class);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a pretraining run configuration: " + e.getMessage(), e);
        }
    }
}
