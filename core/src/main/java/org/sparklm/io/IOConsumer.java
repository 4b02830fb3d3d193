package org.sparklm.io;

import java.io.IOException;

/**
 * A consumer that may throw {@link IOException}: how a caller writes one blob of a checkpoint (for example a DL4J
 * model through {@code ModelSerializer.writeModel(model, out, true)}) without this package depending on DL4J.
 *
 * @param <T> what is consumed, usually an {@link java.io.OutputStream}
 */
@FunctionalInterface
public interface IOConsumer<T> {
    void accept(T t) throws IOException;
}
