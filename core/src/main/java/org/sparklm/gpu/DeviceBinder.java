package org.sparklm.gpu;

/**
 * Binds the calling thread to a GPU of the compute backend. The jobs module implements it with ND4J
 * ({@code Nd4j.getAffinityManager()}: {@code getNumberOfDevices()}, {@code unsafeSetDevice(int)}); this package stays
 * free of ND4J so the binding rule ({@link GpuBinding}) is testable anywhere.
 */
public interface DeviceBinder {
    /** The number of devices the backend sees in this JVM (0 on a CPU backend). */
    int deviceCount();

    /** Binds the calling thread (and the arrays it creates from now on) to a device, 0-based. */
    void bind(int device);

    /** A short description of the backend for the log, e.g. "ND4J CUDA backend, 2 devices". */
    String describe();
}
