package org.sparklm.model.dl4j;

import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Configuration of the input layer: token embeddings plus learned position embeddings (GPT-2), then dropout. Input
 * {@code [batch, time]} token ids (as floating-point numbers, DL4J's feature type), time up to the context length;
 * output {@code [batch, time, d_model]}. Parameters {@code tok} {@code [vocab, d_model]} and {@code pos}
 * {@code [context, d_model]}, normal(0, 0.02), not decayed.
 */
public final class TokenPositionEmbedding extends TransformerLayerConf {

    public static final String TOKENS = "tok";
    public static final String POSITIONS = "pos";

    private int vocabSize;
    private int contextLength;

    public TokenPositionEmbedding() {
    }

    public TokenPositionEmbedding(int vocabSize, int contextLength, int dModel, double dropout) {
        this.vocabSize = vocabSize;
        this.contextLength = contextLength;
        this.dModel = dModel;
        this.dropout = dropout;
    }

    @Override
    public List<ParamSpec> paramSpecs() {
        return List.of(
            ParamSpec.embedding(TOKENS, vocabSize, dModel, initStd),
            ParamSpec.embedding(POSITIONS, contextLength, dModel, initStd));
    }

    @Override
    protected org.deeplearning4j.nn.api.Layer newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new TokenPositionEmbeddingLayer(conf, dataType);
    }

    public int getVocabSize() {
        return vocabSize;
    }

    public void setVocabSize(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public int getContextLength() {
        return contextLength;
    }

    public void setContextLength(int contextLength) {
        this.contextLength = contextLength;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenPositionEmbedding e && super.equals(o) && e.vocabSize == vocabSize
            && e.contextLength == contextLength && e.dModel == dModel && e.dropout == dropout
            && e.initStd == initStd;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), vocabSize, contextLength, dModel, dropout, initStd);
    }
}
