package org.sparklm.pretrain;

import org.sparklm.UsageException;
import org.sparklm.model.TransformerConfig;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.Objective;
import org.sparklm.train.Seq2SeqSpec;

/** The encoder-decoder side of a pretraining run: the objective against the architecture, the data spec. */
public final class Seq2SeqRuns {

    private Seq2SeqRuns() {
    }

    /**
     * Refuses an objective the model's architecture cannot train: span and prefix-lm need an encoder-decoder, clm and
     * mlm a decoder-only model.
     *
     * @param command named in the message
     */
    public static void checkArchitecture(String command, Objective objective, String modelName,
                                         TransformerConfig model) {
        if (objective.isSeq2Seq() && !model.isEncoderDecoder()) {
            throw new UsageException(command + ": --objective " + objective.key() + " needs an encoder-decoder model"
                + " (such as t5-tiny or t5-small); " + modelName + " is decoder-only");
        }
        if (!objective.isSeq2Seq() && model.isEncoderDecoder()) {
            throw new UsageException(command + ": --objective " + objective.key() + " needs a decoder-only model; "
                + modelName + " is an encoder-decoder (use --objective span or prefix-lm)");
        }
    }

    /** The seq2seq data spec of a run (span, prefix-lm), else null. */
    public static Seq2SeqSpec spec(PretrainRun run, SpecialTokens specials) {
        if (!run.objective().isSeq2Seq()) {
            return null;
        }
        TransformerConfig m = run.model();
        return Seq2SeqSpec.of(run.objective(), specials, m.encoderContext(), m.decoderContext(),
            run.noiseDensity() == null ? PretrainConfig.DEFAULTS.noiseDensity() : run.noiseDensity(),
            run.meanSpanLength() == null ? PretrainConfig.DEFAULTS.meanSpanLength() : run.meanSpanLength(),
            run.prefixMin() == null ? PretrainConfig.DEFAULTS.prefixMin() : run.prefixMin(),
            run.prefixMax() == null ? PretrainConfig.DEFAULTS.prefixMax() : run.prefixMax());
    }
}
