package org.sparklm.train;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Encoder-decoder examples to DL4J minibatches (the layout the encoder-decoder network reads; every mask present):
 * <ul>
 *   <li>{@code features[0]}: encoder input ids {@code [B, Te]} (ids as floats), right-padded with the pad id;
 *       {@code featuresMask[0]} {@code [B, Te]}: 1 on real tokens, 0 on padding;</li>
 *   <li>{@code features[1]}: decoder input ids {@code [B, Td]}: the decoder start id, then the target shifted right
 *       by one ({@code [start, t0, .., t_{n-2}]}, teacher forcing), padded; {@code featuresMask[1]} likewise;</li>
 *   <li>{@code labels[0]}: target ids {@code [B, 1, Td]} ({@code [t0, .., t_{n-1}]}, the sparse-label format of
 *       {@link LmBatches}); {@code labelsMask[0]} {@code [B, Td]}: 1 where the loss counts (every target token,
 *       the final EOS included), 0 on padding.</li>
 * </ul>
 * The decoder start id is the pad id, as in T5: masks come from the lengths, never from the ids.
 */
public final class Seq2SeqBatches {

    private Seq2SeqBatches() {
    }

    /**
     * One encoder-decoder example.
     *
     * @param input  the encoder's input ids (for span corruption: with sentinels, ending with EOS)
     * @param target the ids the decoder must produce (ending with EOS)
     */
    public record Example(int[] input, int[] target) {
        public Example {
            if (input.length == 0 || target.length == 0) {
                throw new IllegalArgumentException("an example needs a non-empty input and target");
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Example e && java.util.Arrays.equals(input, e.input)
                && java.util.Arrays.equals(target, e.target);
        }

        @Override
        public int hashCode() {
            return 31 * java.util.Arrays.hashCode(input) + java.util.Arrays.hashCode(target);
        }

        @Override
        public String toString() {
            return "Example[input=" + java.util.Arrays.toString(input) + ", target="
                + java.util.Arrays.toString(target) + "]";
        }
    }

    /**
     * The minibatch of {@code examples}.
     *
     * @param encoderContext Te: encoder positions (every input must fit)
     * @param decoderContext Td: decoder positions (every target must fit)
     * @param padId          the pad id: padding, and the decoder start id
     */
    public static MultiDataSet batch(List<Example> examples, int encoderContext, int decoderContext, int padId) {
        int b = examples.size();
        if (b == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        int te = encoderContext;
        int td = decoderContext;
        float[] enc = new float[b * te];
        float[] encMask = new float[b * te];
        float[] dec = new float[b * td];
        float[] decMask = new float[b * td];
        float[] labels = new float[b * td];
        java.util.Arrays.fill(enc, padId);
        java.util.Arrays.fill(dec, padId);
        java.util.Arrays.fill(labels, padId);
        for (int i = 0; i < b; i++) {
            Example e = examples.get(i);
            if (e.input().length > te) {
                throw new IllegalArgumentException("an encoder input of " + e.input().length
                    + " tokens does not fit the encoder context " + te);
            }
            if (e.target().length > td) {
                throw new IllegalArgumentException("a target of " + e.target().length
                    + " tokens does not fit the decoder context " + td);
            }
            for (int j = 0; j < e.input().length; j++) {
                enc[i * te + j] = e.input()[j];
                encMask[i * te + j] = 1;
            }
            int[] t = e.target();
            for (int j = 0; j < t.length; j++) {
                dec[i * td + j] = j == 0 ? padId : t[j - 1];
                decMask[i * td + j] = 1;
                labels[i * td + j] = t[j];
            }
        }
        INDArray[] features = {Nd4j.create(enc, new long[] {b, te}, DataType.FLOAT),
            Nd4j.create(dec, new long[] {b, td}, DataType.FLOAT)};
        INDArray[] featureMasks = {Nd4j.create(encMask, new long[] {b, te}, DataType.FLOAT),
            Nd4j.create(decMask, new long[] {b, td}, DataType.FLOAT)};
        INDArray[] label = {Nd4j.create(labels, new long[] {b, 1, td}, DataType.FLOAT)};
        INDArray[] labelMask = {Nd4j.create(decMask.clone(), new long[] {b, td}, DataType.FLOAT)};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, label, featureMasks, labelMask);
    }
}
