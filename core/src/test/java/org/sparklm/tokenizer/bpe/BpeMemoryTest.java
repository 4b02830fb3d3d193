package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sparklm.util.LongLongMap;

class BpeMemoryTest {
    @Test
    void knownAnswersAndLinearity() {
        assertEquals(0, BpeMemory.estimateBytes(0, 0, 0));
        assertEquals(60 + 10 * 7 + 80 * 6, BpeMemory.estimateBytes(1, 7, 6));
        assertEquals(1000 * BpeMemory.estimateBytes(3, 20, 11), BpeMemory.estimateBytes(3000, 20_000, 11_000));
        assertEquals(10, BpeMemory.symbols(BpeMode.BYTE, "hello"));
        assertEquals(5, BpeMemory.symbols(BpeMode.CHAR_EOW, "hello"));
        assertTrue(BpeMemory.symbols(BpeMode.BYTE, "\u00e9t\u00e9") >= "\u00e9t\u00e9".getBytes(
            java.nio.charset.StandardCharsets.UTF_8).length); // bounds the byte symbols of Latin text
    }

    @Test
    void aboutOneHundredBytesPerUniqueWordOfEnglish() throws Exception {
        // docs/DESIGN.md: with English-like text the model comes to about 100 bytes per unique word
        Map<String, Long> words = BpeTestSupport.countWords(BpeMode.BYTE, BpeTestSupport.brownLines(20_000));
        LongLongMap pairs = new LongLongMap(1 << 12);
        long symbols = 0;
        for (var e : words.entrySet()) {
            BpeTrainer.countInitialPairs(BpeMode.BYTE, e.getKey(), e.getValue(), pairs);
            symbols += BpeMemory.symbols(BpeMode.BYTE, e.getKey());
        }
        double perWord = (double) BpeMemory.estimateBytes(words.size(), symbols, pairs.size()) / words.size();
        assertTrue(perWord > 60 && perWord < 250, "bytes per unique word " + perWord);
    }
}
