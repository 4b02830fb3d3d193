package org.sparklm.export;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.model.LanguageModel;
import org.sparklm.train.Objective;

/**
 * The hf export computes our model: an independent GPT-2 forward pass ({@link Gpt2Reference}, from the exported
 * files only) reproduces our log-probabilities within 1e-4 on a few sequences. Our network ends in the softmax, so
 * "logits" are compared as log-probabilities (logits up to each position's log-sum-exp). With
 * {@code -Dsparklm.gpt2.dump=DIR} the export and our log-probabilities are kept in DIR for the PyTorch check
 * ({@code deploy/export/check_gpt2.py DIR}).
 */
class Gpt2ReferenceTest {
    @TempDir
    Path tmp;

    @Test
    void independentGpt2ForwardPassReproducesOurLogits() throws IOException {
        Path cp = ExportFixtures.checkpoint(tmp.resolve("run"), Objective.CLM, 21);
        ModelSnapshot m = ModelSnapshot.fromCheckpoint(new Configuration(), cp.toString(), "test");
        Path exported = tmp.resolve("export");
        ModelExport.export(new Configuration(), m, new Gpt2Layout(), exported.toString(), false);
        Gpt2Reference ref = Gpt2Reference.load(exported);
        LanguageModel ours = new LanguageModel(m.config(), m.net());
        List<int[]> sequences = ExportFixtures.sequences(m.config().contextLength(), 5);
        double worst = 0;
        double spread = 0;
        for (int[] s : sequences) {
            double[][] logits = ref.logits(s);
            float[][] p = ours.probabilities(s);
            for (int t = 0; t < s.length; t++) {
                double[] expected = Gpt2Reference.logSoftmax(logits[t]);
                for (int v = 0; v < expected.length; v++) {
                    worst = Math.max(worst, Math.abs(expected[v] - Math.log(p[t][v])));
                    spread = Math.max(spread, Math.abs(expected[v] - expected[0]));
                }
            }
        }
        assertTrue(spread > 1, "the model predicts something (log-probabilities spread " + spread + ")");
        assertTrue(worst < 1e-4, "max |log p_reference - log p_ours| = " + worst);
        System.out.printf("Gpt2ReferenceTest: max |log p_reference - log p_ours| = %.3g%n", worst);
        String dump = System.getProperty("sparklm.gpt2.dump");
        if (dump != null && !dump.isBlank()) {
            LogitsDump.dump(m, sequences, Path.of(dump));
        }
    }
}
