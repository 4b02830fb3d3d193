package org.sparklm.tokenizer.bpe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WordCounterTest {
    @Test
    void countsEqualAHashMapThroughManyResizes() {
        Random rnd = new Random(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 400_000; i++) {
            int len = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 12 : 3);
            for (int j = 0; j < len; j++) {
                sb.append((char) (rnd.nextInt(8) == 0 ? 0x4E00 + rnd.nextInt(50) : 'a' + rnd.nextInt(6)));
            }
            sb.append(' ');
        }
        String text = sb.toString();
        WordCounter wc = new WordCounter();
        Map<String, Long> expected = new HashMap<>();
        WordSplitter.split(BpeMode.CHAR_EOW, text, (s, e) -> {
            wc.add(text, s, e);
            expected.merge(text.substring(s, e), 1L, Long::sum);
        });
        Map<String, Long> got = new HashMap<>();
        wc.forEach((w, c) -> got.put(w, c));
        assertEquals(expected, got);
        assertEquals(expected.size(), wc.size());
        wc.clear();
        assertEquals(0, wc.size());
        wc.add("xyz", 1, 3);
        wc.add("yz", 0, 2);
        Map<String, Long> after = new HashMap<>();
        wc.forEach(after::put);
        assertEquals(Map.of("yz", 2L), after);
    }
}
