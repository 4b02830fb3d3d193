package org.sparklm.checkpoint;

import java.util.List;
import java.util.Optional;
import org.apache.hadoop.fs.Path;

/**
 * What {@link CheckpointStore#latestIntact} found: the newest checkpoint that verified (absent when none did), every
 * newer checkpoint it skipped with the reason, and the leftover temporary directories of interrupted writes it
 * ignored.
 *
 * @param checkpoint the newest intact checkpoint, or {@code null}
 * @param skipped    newer checkpoints that are partial or corrupt, newest first
 * @param leftovers  hidden temporary directories of writes that never completed
 */
public record LatestIntact(Checkpoint checkpoint, List<Skipped> skipped, List<Path> leftovers) {

    /** A checkpoint directory that failed verification. */
    public record Skipped(Path dir, String reason) {
    }

    public LatestIntact {
        skipped = List.copyOf(skipped);
        leftovers = List.copyOf(leftovers);
    }

    /** The newest intact checkpoint, if any. */
    public Optional<Checkpoint> latest() {
        return Optional.ofNullable(checkpoint);
    }
}
