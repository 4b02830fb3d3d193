package org.sparklm.finetune;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointManifest;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.model.TrainableParams;
import org.sparklm.model.dl4j.TransformerLayerConf;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.Objective;

/**
 * A fine-tuned classifier as stored and loaded. A classifier checkpoint holds {@value #TRAINABLE_BLOB} (the values of
 * the trainable parameters, in the network's order; every parameter for full fine-tuning), {@value #UPDATER_BLOB}
 * (Adam's state of those), {@value LabelSet#FILE}, {@code tokenizer.json} and {@code state.json} (the
 * {@link FinetuneRun}). A classifier that keeps the pretrained weights (head, lora, prefix) stores only its own
 * parameters and names its base by path and sha256: loading it rebuilds the network, copies the base's weights in,
 * then its own; another base is an error. A classifier that carries its base ({@value #FROZEN_BLOB}: the frozen
 * parameters' values, as {@code import} writes it) is loaded without reading the base checkpoint.
 *
 * @param checkpoint where it was read
 * @param run        the run that trained it
 * @param net        the network (inference)
 * @param tokenizer  the tokenizer
 * @param encoder    how texts become examples (framing and truncation as in training)
 */
public record FinetunedModel(Checkpoint checkpoint, FinetuneRun run, ComputationGraph net, BpeTokenizer tokenizer,
                             ExampleEncoder encoder) {

    public static final String TRAINABLE_BLOB = "trainable.bin";
    public static final String UPDATER_BLOB = "updater.bin";
    /**
     * The frozen parameters' values (ND4J binary {@code [1, n]}, in the network's parameter order), in a classifier
     * that carries its pretrained weights instead of naming a base checkpoint: an imported one.
     */
    public static final String FROZEN_BLOB = "frozen.bin";
    /** The best checkpoint by validation accuracy, beside the run's checkpoints: {@code OUT/best/checkpoints/...}. */
    public static final String BEST_DIR = "best";

    public LabelSet labels() {
        return run.labelSet();
    }

    /** The token a classifier prepends ([CLS] for first pooling), or -1. */
    public static int prefixId(FinetuneConfig.Pooling pooling, SpecialTokens sp) {
        return ClassifierModel.resolve(pooling) == FinetuneConfig.Pooling.FIRST ? sp.idOf(SpecialTokens.CLS) : -1;
    }

    /** The token it appends ([EOS] for a decoder, whose documents ended with it in pretraining), or -1. */
    public static int suffixId(Objective base, SpecialTokens sp) {
        return base == Objective.CLM ? sp.idOf(SpecialTokens.EOS) : -1;
    }

    /** The checkpoint's files besides state.json. */
    public static Map<String, IOConsumer<OutputStream>> blobs(ComputationGraph net, LabelSet labels,
                                                              byte[] tokenizer) {
        TrainableParams t = TrainableParams.of(net);
        INDArray values = t.extract(net.params());
        INDArray updater = net.getUpdater() == null ? null : net.getUpdater().getStateViewArray();
        Map<String, IOConsumer<OutputStream>> blobs = new LinkedHashMap<>();
        blobs.put(TRAINABLE_BLOB, o -> Nd4j.write(values, new DataOutputStream(o)));
        if (updater != null) {
            INDArray u = updater.dup();
            blobs.put(UPDATER_BLOB, o -> Nd4j.write(u, new DataOutputStream(o)));
        }
        blobs.put(LabelSet.FILE, o -> Json.pretty().writeValue(o, labels.toJson()));
        blobs.put(PretrainedModel.TOKENIZER_BLOB, o -> o.write(tokenizer));
        return blobs;
    }

    /**
     * The checkpoint {@code dir} names: a classifier checkpoint directory, or a fine-tuning run directory (its best
     * checkpoint when it has one, else its newest intact checkpoint).
     */
    public static Checkpoint locate(Configuration conf, String dir, String command) throws IOException {
        Path best = new Path(new Path(dir), BEST_DIR);
        FileSystem fs = best.getFileSystem(conf);
        if (fs.exists(best) && !fs.exists(new Path(new Path(dir), CheckpointManifest.FILE))) {
            var found = CheckpointStore.open(conf, best.toString(), 1).latestIntact(false).latest();
            if (found.isPresent()) {
                return found.get();
            }
        }
        return PretrainedModel.locate(conf, dir, command);
    }

    /** The run stored in a checkpoint; a checkpoint of something else is a UsageException. */
    public static FinetuneRun run(Checkpoint cp, String command) throws IOException {
        ObjectNode state = cp.readState();
        if (!state.path("run").has("method")) {
            throw new UsageException(command + ": " + cp.dir() + " is not a fine-tuned classifier (a pretrained model?"
                + " fine-tune it with finetune)");
        }
        try {
            return FinetuneRun.fromJson(state.path("run"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(command + ": " + cp.dir() + ": " + e.getMessage());
        }
    }

    /** Loads a classifier for inference (or, with {@code withUpdater}, to continue training it). */
    public static FinetunedModel load(Configuration conf, String dir, String command, boolean withUpdater)
        throws IOException {
        Checkpoint cp = locate(conf, dir, command);
        FinetuneRun run = run(cp, command);
        boolean carriesBase = cp.manifest().blob(FROZEN_BLOB).isPresent();
        ComputationGraph base = run.keepsBase() && !carriesBase ? base(conf, run, command) : null;
        ComputationGraph net = restore(cp, run, base, withUpdater);
        BpeTokenizer tok;
        try (InputStream in = cp.open(PretrainedModel.TOKENIZER_BLOB)) {
            tok = new BpeTokenizer(TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(in.readAllBytes())));
        }
        SpecialTokens sp = tok.specialTokens();
        ExampleEncoder enc = new ExampleEncoder(new LabelledText(LabelledText.Format.TSV, "text", "label"),
            prefixId(run.pooling(), sp), suffixId(run.baseObjective(), sp), run.maxLength());
        return new FinetunedModel(cp, run, net, tok, enc);
    }

    /** The pretrained network a classifier keeps, checked against the sha256 it was trained on. */
    public static ComputationGraph base(Configuration conf, FinetuneRun run, String command) throws IOException {
        Checkpoint b;
        try {
            b = PretrainedModel.locate(conf, run.checkpoint(), command);
        } catch (UsageException e) {
            throw new UsageException(command + ": the classifier keeps the weights of the pretrained model "
                + run.checkpoint() + ", which cannot be read: " + e.getMessage());
        }
        String sha = b.manifest().blob(PretrainedModel.MODEL_BLOB).map(CheckpointManifest.Blob::sha256).orElse("");
        if (!sha.equals(run.baseSha256())) {
            throw new UsageException(command + ": the classifier was trained on the pretrained model with sha256 "
                + run.baseSha256() + ", but " + b.dir() + " holds one with sha256 " + sha + " (another base)");
        }
        return PretrainedModel.network(b, false);
    }

    /** The classifier of a checkpoint: rebuilt from its run, the base's weights (if kept), then its own. */
    public static ComputationGraph restore(Checkpoint cp, FinetuneRun run, ComputationGraph base,
                                           boolean withUpdater) throws IOException {
        ComputationGraph net = ClassifierModel.create(run, base, DataType.FLOAT);
        TrainableParams t = TrainableParams.of(net);
        INDArray values;
        try (InputStream in = cp.open(TRAINABLE_BLOB)) {
            values = Nd4j.read(new DataInputStream(in));
        }
        if (values.length() != t.count()) {
            throw new IOException(cp.dir() + "/" + TRAINABLE_BLOB + " holds " + values.length() + " values, the"
                + " classifier of its run has " + t.count() + " trainable parameters");
        }
        t.insert(values.castTo(net.params().dataType()), net.params());
        if (cp.manifest().blob(FROZEN_BLOB).isPresent()) {
            try (InputStream in = cp.open(FROZEN_BLOB)) {
                insertFrozen(net, Nd4j.read(new DataInputStream(in)), cp.dir() + "/" + FROZEN_BLOB);
            }
        }
        if (withUpdater && cp.manifest().blob(UPDATER_BLOB).isPresent()) {
            try (InputStream in = cp.open(UPDATER_BLOB)) {
                INDArray u = Nd4j.read(new DataInputStream(in));
                net.getUpdater().getStateViewArray().assign(u);
            }
        }
        return net;
    }

    /** The frozen parameters of a network (those {@link TrainableParams} leaves out), in its parameter order. */
    public static List<INDArray> frozenParams(ComputationGraph net) {
        List<INDArray> out = new ArrayList<>();
        for (int idx : net.topologicalSortOrder()) {
            var v = net.getVertices()[idx];
            if (!v.hasLayer() || v.numParams() == 0) {
                continue;
            }
            var conf = v.getLayer().conf().getLayer();
            for (var e : v.getLayer().paramTable().entrySet()) {
                if (conf instanceof TransformerLayerConf t && t.isFrozen(e.getKey())) {
                    out.add(e.getValue());
                }
            }
        }
        return out;
    }

    /** The blob {@value #FROZEN_BLOB} of a network: its frozen parameters' values, concatenated {@code [1, n]}. */
    public static IOConsumer<OutputStream> frozenBlob(ComputationGraph net) {
        List<INDArray> frozen = frozenParams(net);
        long n = frozen.stream().mapToLong(INDArray::length).sum();
        INDArray values = Nd4j.create(net.params().dataType(), 1, n);
        long o = 0;
        for (INDArray p : frozen) {
            values.get(NDArrayIndex.point(0), NDArrayIndex.interval(o, o + p.length())).assign(p.reshape(1,
                p.length()));
            o += p.length();
        }
        return out -> Nd4j.write(values, new DataOutputStream(out));
    }

    private static void insertFrozen(ComputationGraph net, INDArray values, String what) throws IOException {
        List<INDArray> frozen = frozenParams(net);
        long n = frozen.stream().mapToLong(INDArray::length).sum();
        if (values.length() != n) {
            throw new IOException(what + " holds " + values.length() + " values, the classifier of its run has " + n
                + " frozen parameters");
        }
        INDArray row = values.reshape(1, n).castTo(net.params().dataType());
        long o = 0;
        for (INDArray p : frozen) {
            p.assign(row.get(NDArrayIndex.point(0), NDArrayIndex.interval(o, o + p.length())).reshape(p.shape()));
            o += p.length();
        }
    }

    /** Class probabilities [n, classes] of texts, in minibatches of {@code batch}. */
    public float[][] probabilities(List<String> texts, int batch) {
        List<int[]> encoded = new ArrayList<>();
        for (String t : texts) {
            encoded.add(encoder.encodeText(tokenizer, t));
        }
        return probabilitiesOf(encoded, batch);
    }

    /** Class probabilities of encoded examples. */
    public float[][] probabilitiesOf(List<int[]> encoded, int batch) {
        float[][] out = new float[encoded.size()][];
        int pad = Math.max(0, tokenizer.specialTokens().idOf(SpecialTokens.PAD));
        for (int from = 0; from < encoded.size(); from += batch) {
            int to = Math.min(encoded.size(), from + batch);
            List<ExampleSet.Encoded> ex = new ArrayList<>();
            for (int i = from; i < to; i++) {
                ex.add(new ExampleSet.Encoded(encoded.get(i), 0));
            }
            int[] idx = new int[to - from];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            MultiDataSet b = ClassBatches.of(new ExampleSet(ex), idx, pad);
            INDArray p = net.output(false, b.getFeatures(), b.getFeaturesMaskArrays())[0];
            for (int i = from; i < to; i++) {
                out[i] = p.getRow(i - from).toFloatVector();
            }
        }
        return out;
    }
}
