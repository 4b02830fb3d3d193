package org.sparklm.tokenizer.bpe;

/**
 * The driver memory model of {@link BpeTrainer}: the heap that training a word table needs, estimated from figures
 * the executors can count before the table is collected (unique words, symbols, distinct initial pairs), so that a
 * table too large for the driver is refused before it is collected. Conservative on purpose (docs/DESIGN.md, "Driver
 * memory bounds").
 */
public final class BpeMemory {
    private BpeMemory() {
    }

    /**
     * The symbols a word is counted with: its UTF-16 length, doubled in byte mode (a char is 1-3 UTF-8 bytes, each a
     * symbol; English-like text is close to 1).
     */
    public static long symbols(BpeMode mode, String word) {
        return word.length() * (mode == BpeMode.BYTE ? 2L : 1L);
    }

    /**
     * Driver bytes the merge loop needs: per unique word 12 (record header) + ~40 of transient String while streaming
     * in, with slack; per symbol 4 (arena) + ~4 (its entry in the pair index) with slack; per distinct pair ~80
     * (index slot, count, list header, heap entry).
     */
    public static long estimateBytes(long uniqueWords, long symbols, long distinctPairs) {
        return uniqueWords * 60 + symbols * 10 + distinctPairs * 80;
    }
}
