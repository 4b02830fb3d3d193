package org.sparklm.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetunedModel;

/**
 * For the by-hand PyTorch check of a PEFT export (deploy/export/check_peft.py, docs/FORMATS.md): writes, under
 * {@code OUT}, the classifier's base in the hf layout ({@code base/}), the classifier in the peft layout
 * ({@code adapter/}, base_model_name_or_path = {@code OUT/base}), its LoRA merged and exported natively
 * ({@code merged/}, whose {@code blockN.wqkv wo w1 w2} are ClassifierModel.mergeLora's), and our probabilities of a
 * few texts with their framed token ids ({@code probs.json}). Not part of the product.
 *
 * <pre>
 *   java -cp core/target/classes:core/target/test-classes:$(cat cp.txt) org.sparklm.export.PeftDump \
 *     CLASSIFIER OUT "a text" "another text"
 * </pre>
 */
public final class PeftDump {
    private PeftDump() {
    }

    static final List<String> TEXTS = List.of("The jury said it did not find any evidence",
        "It was a bright cold day in April", "Mr. Kennedy", "the stars were bright");

    /** Writes the dump of the classifier {@code classifier} (a LoRA classifier on a clm base) under {@code out}. */
    static void dump(String classifier, Path out, List<String> texts) throws IOException {
        Configuration conf = new Configuration();
        FinetunedModel m = FinetunedModel.load(conf, classifier, "dump", false);
        Path base = out.resolve("base");
        ModelExport.export(conf, ModelSnapshot.fromCheckpoint(conf, m.run().checkpoint(), "dump"), new Gpt2Layout(),
            base.toString(), true);
        var cp = ClassifierSnapshot.locate(conf, classifier, "dump");
        ClassifierSnapshot s = ClassifierSnapshot.fromCheckpoint(conf, cp, "dump");
        PeftExport.export(conf, s, out.resolve("adapter").toString(), true, base.toString());
        ClassifierModel.Merged merged = ClassifierModel.mergeLora(m.run(), m.net());
        ClassifierExport.export(conf, new ClassifierSnapshot(merged.run(), merged.net(), s.tokenizerJson(),
            s.tokenizer(), s.step(), "merged " + s.source()), out.resolve("merged").toString(), true);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("pooling", ClassifierModel.resolve(m.run().pooling()).key());
        ArrayNode seqs = o.putArray("sequences");
        ArrayNode probs = o.putArray("probabilities");
        float[][] p = m.probabilities(texts, 8);
        for (int i = 0; i < texts.size(); i++) {
            ArrayNode ids = seqs.addArray();
            for (int id : m.encoder().encodeText(m.tokenizer(), texts.get(i))) {
                ids.add(id);
            }
            ArrayNode row = probs.addArray();
            for (float x : p[i]) {
                row.add(x);
            }
        }
        new ObjectMapper().writeValue(out.resolve("probs.json").toFile(), o);
    }

    static void dump(String classifier, Path out) throws IOException {
        dump(classifier, out, TEXTS);
    }

    public static void main(String[] args) throws IOException {
        List<String> texts = args.length > 2 ? new ArrayList<>(Arrays.asList(args).subList(2, args.length)) : TEXTS;
        dump(args[0], Path.of(args[1]), texts);
        System.out.println("wrote base/, adapter/, merged/ and probs.json for " + texts.size() + " texts under "
            + args[1]);
    }
}
