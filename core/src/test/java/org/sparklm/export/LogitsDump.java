package org.sparklm.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.model.LanguageModel;
import org.sparklm.tokenizer.bpe.BpeTokenizer;

/**
 * For the by-hand PyTorch check (deploy/export/check_gpt2.py, docs/FORMATS.md): exports a checkpoint in the hf layout
 * to {@code OUT/export} and writes our model's log-probabilities of a few sequences to {@code OUT/logits.json}
 * ({@code {"sequences": [[ids]], "log_probs": [[[per position, per id]]]}}). Not part of the product.
 *
 * <pre>
 *   java -cp core/target/classes:core/target/test-classes:$(cat cp.txt) org.sparklm.export.LogitsDump \
 *     CHECKPOINT OUT "a text" "another text"
 * </pre>
 */
public final class LogitsDump {
    private LogitsDump() {
    }

    /** Exports {@code m} (hf layout) under {@code out} and writes the log-probabilities of {@code sequences}. */
    static void dump(ModelSnapshot m, List<int[]> sequences, Path out) throws IOException {
        Configuration conf = new Configuration();
        ModelExport.export(conf, m, new Gpt2Layout(), out.resolve("export").toString(), true);
        LanguageModel lm = new LanguageModel(m.config(), m.net());
        ObjectNode o = new ObjectMapper().createObjectNode();
        ArrayNode seqs = o.putArray("sequences");
        ArrayNode logp = o.putArray("log_probs");
        for (int[] s : sequences) {
            ArrayNode ids = seqs.addArray();
            for (int id : s) {
                ids.add(id);
            }
            ArrayNode rows = logp.addArray();
            for (float[] p : lm.probabilities(s)) {
                ArrayNode r = rows.addArray();
                for (float x : p) {
                    r.add(Math.log(x));
                }
            }
        }
        new ObjectMapper().writeValue(out.resolve("logits.json").toFile(), o);
    }

    public static void main(String[] args) throws IOException {
        ModelSnapshot m = ModelSnapshot.fromCheckpoint(new Configuration(), args[0], "dump");
        BpeTokenizer tok = new BpeTokenizer(m.tokenizer());
        List<int[]> seqs = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            int[] ids = tok.encode(args[i], true);
            seqs.add(java.util.Arrays.copyOf(ids, Math.min(ids.length, m.config().contextLength())));
        }
        dump(m, seqs, Path.of(args[1]));
        System.out.println("wrote " + Path.of(args[1]).resolve("export") + " and logits.json for " + seqs.size()
            + " sequences");
    }
}
