package org.sparklm.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors format: exact bytes, alignment, round trips, half-precision reads, and every defect rejected. */
class SafeTensorsTest {
    @TempDir
    Path tmp;

    private static byte[] write(List<SafeTensors.Tensor> tensors, Map<String, String> meta) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        long n = SafeTensors.write(b, tensors, meta);
        assertEquals(b.size(), n);
        return b.toByteArray();
    }

    private SafeTensors.Reader open(byte[] file) throws IOException {
        Path p = Files.write(tmp.resolve("t" + System.nanoTime() + ".safetensors"), file);
        return SafeTensors.open(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(p.toUri()));
    }

    /** A file from a header given as text (not padded) and raw data bytes. */
    private static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length)
            .put(h).put(data).array();
    }

    private static byte[] floatsLe(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    @Test
    void writesTheDocumentedBytes() throws IOException {
        byte[] file = write(List.of(
                new SafeTensors.Tensor("a", new long[] {2}, () -> new float[] {1f, 2f}),
                new SafeTensors.Tensor("b.w", new long[] {1, 1}, () -> new float[] {-0.5f})),
            Map.of("format", "pt"));
        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
            + "[0,8]},\"b.w\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}}";
        int padded = (json.length() + 7) / 8 * 8;
        String header = json + " ".repeat(padded - json.length());
        byte[] expected = ByteBuffer.allocate(8 + padded + 12).order(ByteOrder.LITTLE_ENDIAN).putLong(padded)
            .put(header.getBytes(StandardCharsets.US_ASCII)).put(floatsLe(1f, 2f, -0.5f)).array();
        assertArrayEquals(expected, file);
    }

    @Test
    void headerIsPaddedWithSpacesToEightBytes() throws IOException {
        for (int len = 1; len <= 17; len++) {
            String name = "x".repeat(len);
            byte[] file = write(List.of(new SafeTensors.Tensor(name, new long[] {3}, () -> new float[3])), Map.of());
            long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, (8 + n) % 8, name);
            String header = new String(file, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.stripTrailing().endsWith("}"), header);
            assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '), header);
            assertEquals(8 + n + 12, file.length);
        }
    }

    @Test
    void roundTripKeepsOrderShapesValuesAndMetadata() throws IOException {
        float[] big = new float[3 * 70_000];   // more than one write buffer
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) Math.sin(i) * 1e3f;
        }
        big[7] = Float.NaN;
        big[8] = Float.NEGATIVE_INFINITY;
        big[9] = -0f;
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "ünïcode \"quoted\"");
        byte[] file = write(List.of(
            new SafeTensors.Tensor("z.big", new long[] {3, 70_000}, () -> big),
            new SafeTensors.Tensor("a.scalar", new long[] {}, () -> new float[] {42f}),
            new SafeTensors.Tensor("m.empty", new long[] {0, 4}, () -> new float[0])), meta);
        try (SafeTensors.Reader r = open(file)) {
            assertEquals(List.of("z.big", "a.scalar", "m.empty"), List.copyOf(r.names()));
            assertEquals(meta, r.header().metadata());
            assertEquals(List.of(3L, 70_000L), r.info("z.big").shape());
            assertEquals(List.of(), r.info("a.scalar").shape());
            assertEquals(SafeTensors.Dtype.F32, r.info("z.big").dtype());
            float[] back = r.floats("z.big");
            for (int i = 0; i < big.length; i++) {
                assertEquals(Float.floatToRawIntBits(big[i]), Float.floatToRawIntBits(back[i]), "element " + i);
            }
            assertArrayEquals(new float[] {42f}, r.floats("a.scalar"));
            assertEquals(0, r.floats("m.empty").length);
            assertEquals(file.length - r.header().dataStart(), r.header().dataBytes());
        }
    }

    @Test
    void readsHalfBfloatAndDoublePrecision() throws IOException {
        // F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), +inf; BF16: 1, -0.15625; F64: pi
        ByteBuffer d = ByteBuffer.allocate(10 + 4 + 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int h : new int[] {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00}) {
            d.putShort((short) h);
        }
        d.putShort((short) 0x3F80).putShort((short) 0xBE20).putDouble(Math.PI);
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
            + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[10,14]},"
            + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[14,22]}}";
        try (SafeTensors.Reader r = open(raw(header, d.array()))) {
            assertArrayEquals(new float[] {1f, -2f, 65504f, (float) Math.pow(2, -24), Float.POSITIVE_INFINITY},
                r.floats("h"));
            assertArrayEquals(new float[] {1f, -0.15625f}, r.floats("b"));
            assertArrayEquals(new float[] {(float) Math.PI}, r.floats("d"));
        }
    }

    @Test
    void halfToFloatIsExactForEveryValue() {
        for (int h = 0; h < 1 << 16; h++) {
            int sign = h >>> 15;
            int exp = (h >>> 10) & 0x1f;
            int mant = h & 0x3ff;
            double expected = exp == 0 ? mant * Math.pow(2, -24)
                : exp == 31 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : (1 + mant / 1024.0) * Math.pow(2, exp - 15);
            expected = sign == 1 ? -expected : expected;
            float got = SafeTensors.halfToFloat(h);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(got), Integer.toHexString(h));
            } else {
                assertEquals((float) expected, got, 0f, Integer.toHexString(h));
                assertEquals(sign == 1, (Float.floatToRawIntBits(got) >>> 31) == 1, Integer.toHexString(h));
            }
        }
    }

    private void rejected(byte[] file, String expectedInMessage) {
        SafeTensors.FormatException e = assertThrows(SafeTensors.FormatException.class, () -> open(file).close());
        assertTrue(e.getMessage().contains(expectedInMessage), e.getMessage());
    }

    @Test
    void rejectsEveryDefect() throws IOException {
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        byte[] data = floatsLe(1, 2);
        try (SafeTensors.Reader r = open(raw(ok, data))) {
            assertArrayEquals(new float[] {1, 2}, r.floats("a"));
        }
        byte[] good = raw(ok, data);
        rejected(Arrays.copyOf(good, good.length - 1), "truncated");
        rejected(Arrays.copyOf(good, good.length + 4), "trailing bytes");
        rejected(Arrays.copyOf(good, 5), "fewer than the 8-byte header length");
        byte[] longHeader = good.clone();
        ByteBuffer.wrap(longHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(0, good.length);
        rejected(longHeader, "exceeds the file");
        ByteBuffer.wrap(longHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        rejected(longHeader, "exceeds the limit");
        rejected(raw(" " + ok, data), "does not start with '{'");
        rejected(raw("[1, 2]", data), "does not start with '{'");
        rejected(raw("{\"a\":", data), "not valid JSON");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data), "not valid JSON");
        rejected(raw("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", data), "unknown dtype");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data), "needs 12");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", data), "bad dimension");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", data), "data_offsets");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data), "overlapping");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data), "leaving a gap");
        rejected(raw("{\"__metadata__\":{\"n\":1}," + ok.substring(1), data), "is not a string");
        rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  \u0000", data),
            "not valid JSON");
        try (SafeTensors.Reader r = open(raw("{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            data))) {
            SafeTensors.FormatException e = assertThrows(SafeTensors.FormatException.class, () -> r.floats("i"));
            assertTrue(e.getMessage().contains("not a floating-point type"), e.getMessage());
            assertArrayEquals(data, r.bytes("i"));
        }
    }
}
