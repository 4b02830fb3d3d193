package org.sparklm.export;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.Json;

/**
 * The safetensors format (HuggingFace, github.com/huggingface/safetensors), written and read without a library:
 *
 * <pre>
 *   8 bytes    N, unsigned little-endian: the header's length in bytes
 *   N bytes    the header, UTF-8 JSON: {"__metadata__": {string: string} (optional),
 *                                       NAME: {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...}
 *              padded with spaces so that 8 + N is a multiple of 8 (as the reference implementation writes it)
 *   the rest   the tensors' bytes, row-major, little-endian; offsets are relative to the end of the header
 * </pre>
 *
 * Reading checks what the reference implementation checks: the header fits in the file (and in 100 MB), is a JSON
 * object starting with '{', names are unique, each tensor's byte range holds exactly {@code product(shape) x size}
 * bytes, the ranges are contiguous from 0 without gaps or overlaps, and the data section ends where the file does.
 * Writing produces F32 tensors; reading converts F32, F16, BF16 and F64 to float.
 */
public final class SafeTensors {

    /** The header key of the free-form string metadata. */
    public static final String METADATA = "__metadata__";
    /** The reference implementation's limit on the header size. */
    public static final long MAX_HEADER_BYTES = 100_000_000;

    private SafeTensors() {
    }

    /** Element types of the format (those the reference implementation knows), with their size in bytes. */
    public enum Dtype {
        BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
        F64(8), I64(8), U64(8);

        private final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }

        /** Whether {@link Reader#floats} converts this type to float. */
        public boolean floating() {
            return this == F32 || this == F16 || this == BF16 || this == F64;
        }

        static Dtype parse(String s) throws FormatException {
            for (Dtype d : values()) {
                if (d.name().equals(s)) {
                    return d;
                }
            }
            throw new FormatException("unknown dtype '" + s + "'");
        }
    }

    /** The file is not valid safetensors; the message says why. */
    public static final class FormatException extends IOException {
        private static final long serialVersionUID = 1L;

        public FormatException(String message) {
            super(message);
        }
    }

    /**
     * One tensor of the header.
     *
     * @param shape the dimensions, outermost first (row-major)
     * @param begin first byte, relative to the data section
     * @param end   one past the last byte
     */
    public record TensorInfo(String name, Dtype dtype, List<Long> shape, long begin, long end) {
        public TensorInfo {
            shape = List.copyOf(shape);
        }

        /** Number of elements: the product of the shape (1 for a scalar). */
        public long elements() {
            return elements(shape);
        }

        public long bytes() {
            return end - begin;
        }

        static long elements(List<Long> shape) {
            long n = 1;
            for (long s : shape) {
                n = Math.multiplyExact(n, s);
            }
            return n;
        }
    }

    /**
     * A parsed header.
     *
     * @param tensors  by name, in the header's order
     * @param metadata the {@code __metadata__} strings (empty when absent)
     * @param headerBytes N, the header's length (padding included)
     */
    public record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata, long headerBytes) {
        public Header {
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }

        /** Where the data section starts in the file. */
        public long dataStart() {
            return 8 + headerBytes;
        }

        /** The data section's length: the sum of the tensors' bytes. */
        public long dataBytes() {
            return tensors.values().stream().mapToLong(TensorInfo::bytes).sum();
        }
    }

    /**
     * A tensor to write, as float32.
     *
     * @param shape its dimensions; the data holds their product of values, row-major
     * @param data  called once, when the tensor's bytes are written (so that only one tensor is copied at a time)
     */
    public record Tensor(String name, long[] shape, Supplier<float[]> data) {
        public Tensor {
            if (name == null || name.isEmpty() || name.equals(METADATA)) {
                throw new IllegalArgumentException("bad tensor name '" + name + "'");
            }
            for (long s : shape) {
                if (s < 0) {
                    throw new IllegalArgumentException("tensor " + name + ": negative dimension in "
                        + Arrays.toString(shape));
                }
            }
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long elements() {
            long n = 1;
            for (long s : shape) {
                n = Math.multiplyExact(n, s);
            }
            return n;
        }
    }

    // ------------------------------------------------------------------------------------------------ writing

    /**
     * The header of F32 tensors laid out one after the other in the given order, padded with spaces so that the data
     * starts at a multiple of 8: the bytes that follow the 8-byte length.
     */
    public static byte[] header(List<Tensor> tensors, Map<String, String> metadata) {
        ObjectNode h = Json.object();
        if (!metadata.isEmpty()) {
            ObjectNode m = h.putObject(METADATA);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            if (h.has(t.name())) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' given twice");
            }
            ObjectNode o = h.putObject(t.name());
            o.put("dtype", Dtype.F32.name());
            ArrayNode s = o.putArray("shape");
            for (long d : t.shape()) {
                s.add(d);
            }
            long end = offset + t.elements() * Dtype.F32.bytes();
            o.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(h);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /**
     * Writes a safetensors file of F32 tensors to {@code out} (left open).
     *
     * @return the number of bytes written
     */
    public static long write(OutputStream out, List<Tensor> tensors, Map<String, String> metadata)
        throws IOException {
        byte[] header = header(tensors, metadata);
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        out.write(len.array());
        out.write(header);
        long written = 8L + header.length;
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : tensors) {
            float[] v = t.data().get();
            if (v.length != t.elements()) {
                throw new IllegalArgumentException("tensor " + t.name() + ": shape " + Arrays.toString(t.shape())
                    + " holds " + t.elements() + " values, got " + v.length);
            }
            for (float x : v) {
                if (!buf.hasRemaining()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putFloat(x);
            }
            written += 4L * v.length;
        }
        out.write(buf.array(), 0, buf.position());
        return written;
    }

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Parses and checks a header.
     *
     * @param headerJson the N header bytes
     * @param fileBytes  the file's total length, to check that the data section ends with the file
     */
    public static Header parseHeader(byte[] headerJson, long fileBytes) throws FormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(headerJson)).toString();
        } catch (CharacterCodingException e) {
            throw new FormatException("the header is not valid UTF-8");
        }
        if (!text.startsWith("{")) {
            throw new FormatException("the header does not start with '{'");
        }
        JsonNode root;
        try {
            root = Json.MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(text);
        } catch (IOException e) {
            throw new FormatException("the header is not valid JSON: " + e.getMessage().lines().findFirst()
                .orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new FormatException("the header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals(METADATA)) {
                if (v.isNull()) {
                    continue;
                }
                if (!v.isObject()) {
                    throw new FormatException(METADATA + " is not an object of strings");
                }
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) {
                        throw new FormatException(METADATA + " value of '" + kv.getKey() + "' is not a string");
                    }
                    metadata.put(kv.getKey(), kv.getValue().asText());
                }
                continue;
            }
            tensors.put(name, tensorInfo(name, v));
        }
        long headerBytes = headerJson.length;
        checkLayout(tensors.values(), fileBytes - 8 - headerBytes);
        return new Header(tensors, metadata, headerBytes);
    }

    private static TensorInfo tensorInfo(String name, JsonNode v) throws FormatException {
        if (!v.isObject()) {
            throw new FormatException("tensor '" + name + "': not an object");
        }
        JsonNode dtype = v.get("dtype");
        JsonNode shape = v.get("shape");
        JsonNode offsets = v.get("data_offsets");
        if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray() || offsets == null
            || !offsets.isArray() || offsets.size() != 2) {
            throw new FormatException("tensor '" + name + "': needs dtype (a string), shape (an array) and"
                + " data_offsets ([begin, end])");
        }
        List<Long> dims = new ArrayList<>();
        for (JsonNode d : shape) {
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new FormatException("tensor '" + name + "': bad dimension " + d + " in shape " + shape);
            }
            dims.add(d.asLong());
        }
        for (JsonNode o : offsets) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.asLong() < 0) {
                throw new FormatException("tensor '" + name + "': bad data_offsets " + offsets);
            }
        }
        Dtype type = Dtype.parse(dtype.asText());
        TensorInfo t = new TensorInfo(name, type, dims, offsets.get(0).asLong(), offsets.get(1).asLong());
        long expected;
        try {
            expected = Math.multiplyExact(t.elements(), type.bytes());
        } catch (ArithmeticException e) {
            throw new FormatException("tensor '" + name + "': shape " + dims + " is too large");
        }
        if (t.end() < t.begin() || t.bytes() != expected) {
            throw new FormatException("tensor '" + name + "': data_offsets " + offsets + " hold " + (t.end()
                - t.begin()) + " bytes, but " + type + " " + dims + " needs " + expected);
        }
        return t;
    }

    /** The byte ranges, sorted, must tile [0, dataBytes) exactly. */
    private static void checkLayout(java.util.Collection<TensorInfo> tensors, long dataBytes) throws FormatException {
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long next = 0;
        for (TensorInfo t : sorted) {
            if (t.begin() != next) {
                throw new FormatException("tensor '" + t.name() + "' starts at byte " + t.begin() + " of the data, "
                    + (t.begin() < next ? "overlapping the previous tensor" : "leaving a gap") + " (expected "
                    + next + ")");
            }
            next = t.end();
        }
        if (next != dataBytes) {
            throw new FormatException("the tensors' data ends at byte " + next + " but the file holds " + dataBytes
                + " data bytes" + (dataBytes < next ? " (truncated)" : " (trailing bytes)"));
        }
    }

    /** Opens a safetensors file on any Hadoop FileSystem: the header is read and checked at once. */
    public static Reader open(FileSystem fs, Path file) throws IOException {
        long length = fs.getFileStatus(file).getLen();
        FSDataInputStream in = fs.open(file);
        try {
            if (length < 8) {
                throw new FormatException("the file has " + length + " bytes, fewer than the 8-byte header length");
            }
            byte[] len = new byte[8];
            in.readFully(0, len);
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw new FormatException("header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
            }
            if (8 + n > length) {
                throw new FormatException("header length " + n + " exceeds the file (" + length + " bytes)");
            }
            byte[] header = new byte[(int) n];
            in.readFully(8, header);
            return new Reader(in, parseHeader(header, length), file);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** An open safetensors file: its header, and its tensors read on demand. */
    public static final class Reader implements Closeable {
        private final FSDataInputStream in;
        private final Header header;
        private final Path file;

        private Reader(FSDataInputStream in, Header header, Path file) {
            this.in = in;
            this.header = header;
            this.file = file;
        }

        public Header header() {
            return header;
        }

        public Path file() {
            return file;
        }

        /** The names of the tensors, in the header's order. */
        public Set<String> names() {
            return header.tensors().keySet();
        }

        public TensorInfo info(String name) throws FormatException {
            TensorInfo t = header.tensors().get(name);
            if (t == null) {
                throw new FormatException("no tensor '" + name + "'");
            }
            return t;
        }

        /** A tensor's raw bytes (little-endian, row-major). */
        public byte[] bytes(String name) throws IOException {
            TensorInfo t = info(name);
            if (t.bytes() > Integer.MAX_VALUE - 8) {
                throw new FormatException("tensor '" + name + "' has " + t.bytes() + " bytes, too many for one array");
            }
            byte[] b = new byte[(int) t.bytes()];
            in.readFully(header.dataStart() + t.begin(), b);
            return b;
        }

        /** A floating-point tensor as float values, row-major (F16, BF16 and F64 converted). */
        public float[] floats(String name) throws IOException {
            TensorInfo t = info(name);
            if (!t.dtype().floating()) {
                throw new FormatException("tensor '" + name + "' is " + t.dtype() + ", not a floating-point type"
                    + " (F32, F16, BF16, F64)");
            }
            ByteBuffer b = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[(int) t.elements()];
            switch (t.dtype()) {
                case F32 -> b.asFloatBuffer().get(out);
                case F64 -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = (float) b.getDouble();
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.intBitsToFloat((b.getShort() & 0xffff) << 16);
                    }
                }
                case F16 -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = halfToFloat(b.getShort() & 0xffff);
                    }
                }
                default -> throw new IllegalStateException();
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** IEEE 754 binary16 to binary32 (exact: every half value is a float). */
    static float halfToFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            int e = 127 - 15 + 1;   // subnormal: normalise the mantissa
            while ((mant & 0x400) == 0) {
                mant <<= 1;
                e--;
            }
            return Float.intBitsToFloat(sign | e << 23 | (mant & 0x3ff) << 13);
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | mant << 13);
        }
        return Float.intBitsToFloat(sign | (exp - 15 + 127) << 23 | mant << 13);
    }

    /** Names in {@code names} outside {@code known}, sorted, the first few. */
    static String firstFew(Set<String> names, int n) {
        List<String> l = new ArrayList<>(new HashSet<>(names));
        Collections.sort(l);
        String s = String.join(", ", l.subList(0, Math.min(n, l.size())));
        return l.size() > n ? s + String.format(Locale.ROOT, ", ... (%d in all)", l.size()) : s;
    }
}
