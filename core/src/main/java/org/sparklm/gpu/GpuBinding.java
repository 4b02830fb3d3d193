package org.sparklm.gpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which CUDA device a Spark task binds ND4J to, given the GPU addresses Spark assigned to the task
 * ({@code TaskContext.get().resources().get("gpu").addresses()}, strings such as "0", "1").
 *
 * <p>The rule. Spark's addresses come from the discovery script ({@code deploy/conf/gpu-discovery.sh}: nvidia-smi's
 * indices, which ignore {@code CUDA_VISIBLE_DEVICES}), so they are physical device numbers of the host. CUDA numbers
 * the devices a process sees 0..n-1 among those listed in {@code CUDA_VISIBLE_DEVICES}, read once when the CUDA
 * runtime starts: the variable cannot be changed inside a running JVM, so an executor cannot restrict itself to its
 * GPU after the fact and must instead select a device by index. Hence:
 * <ul>
 *   <li>{@code CUDA_VISIBLE_DEVICES} unset or empty (the executor sees every GPU): device = the address;</li>
 *   <li>{@code CUDA_VISIBLE_DEVICES} set to a list of indices (the executor was started restricted): device = the
 *       address's position in that list (list "2,3", address "3": device 1);</li>
 *   <li>the device must be below the number of devices ND4J sees.</li>
 * </ul>
 * A task given several addresses (spark.task.resource.gpu.amount above 1) binds to the first: one DL4J training
 * thread uses one device. Anything else (no address, a non-numeric address, an address missing from
 * {@code CUDA_VISIBLE_DEVICES}, a device index out of range, a list of GPU UUIDs) is an
 * {@link IllegalArgumentException} naming the values involved.
 */
public final class GpuBinding {
    private static final Logger LOG = LoggerFactory.getLogger(GpuBinding.class);

    /** Spark's resource name for GPUs. */
    public static final String RESOURCE = "gpu";
    /** The environment variable CUDA reads at start-up. */
    public static final String CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";

    private GpuBinding() {
    }

    /**
     * The result of {@link #bind}: which task bound to which address and device.
     *
     * @param task        the Spark task (partition) id, for the log
     * @param address     the GPU address Spark assigned
     * @param device      the device index ND4J was bound to
     * @param deviceCount how many devices ND4J sees
     * @param backend     {@link DeviceBinder#describe()}
     */
    public record Binding(long task, String address, int device, int deviceCount, String backend) {
        /** {@code task N bound to GPU address A (device D of C)}. */
        public String logLine() {
            return GpuBinding.logLine(task, address, device, deviceCount);
        }
    }

    /** {@code task N bound to GPU address A (device D of C)}. */
    public static String logLine(long task, String address, int device, int deviceCount) {
        return "task " + task + " bound to GPU address " + address + " (device " + device + " of " + deviceCount + ")";
    }

    /** {@link #choose(String[], int, String)} with this process's {@code CUDA_VISIBLE_DEVICES}. */
    public static int choose(String[] addresses, int visibleDeviceCount) {
        return choose(addresses, visibleDeviceCount, System.getenv(CUDA_VISIBLE_DEVICES));
    }

    /**
     * The device index to bind to (see the class comment for the rule).
     *
     * @param addresses          the task's GPU addresses from Spark
     * @param visibleDeviceCount how many devices the backend sees
     * @param cudaVisibleDevices the value of {@code CUDA_VISIBLE_DEVICES} the JVM started with, or null if unset
     * @throws IllegalArgumentException when no valid device follows, naming the values
     */
    public static int choose(String[] addresses, int visibleDeviceCount, String cudaVisibleDevices) {
        if (addresses == null || addresses.length == 0) {
            throw new IllegalArgumentException("this task was assigned no GPU address: set "
                + "spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount (conf/spark-gpu.conf); "
                + "note that Spark's local mode never assigns GPUs to tasks");
        }
        String address = addresses[0] == null ? "null" : addresses[0].trim();
        int physical = index(address, "GPU address '" + address + "' from Spark");
        if (visibleDeviceCount < 1) {
            throw new IllegalArgumentException("GPU address " + address + " was assigned, but the backend sees "
                + visibleDeviceCount + " devices (is the executor running the CPU backend? build with -Pcuda)");
        }
        int device = physical;
        List<String> visible = parseVisibleDevices(cudaVisibleDevices);
        String where = "";
        if (visible != null) {
            device = visible.indexOf(String.valueOf(physical));
            where = " " + CUDA_VISIBLE_DEVICES + "=" + cudaVisibleDevices;
            if (device < 0) {
                for (String v : visible) {
                    index(v, "entry '" + v + "' of " + CUDA_VISIBLE_DEVICES + "=" + cudaVisibleDevices
                        + " (only lists of device indices can be mapped to Spark's addresses)");
                }
                throw new IllegalArgumentException("GPU address " + address + " is not among the devices of this "
                    + "executor:" + where + " (the discovery script and the executor's environment disagree)");
            }
        }
        if (device >= visibleDeviceCount) {
            throw new IllegalArgumentException("GPU address " + address + " maps to device " + device
                + " but the backend sees only " + visibleDeviceCount + " devices (0.." + (visibleDeviceCount - 1)
                + ")" + (where.isEmpty() ? "; " + CUDA_VISIBLE_DEVICES + " is unset" : ";" + where));
        }
        return device;
    }

    /**
     * Chooses the device for the task's addresses, binds the calling thread to it and logs
     * {@code task N bound to GPU address A (device D of C)} with the backend's description.
     *
     * @param task               the Spark task (partition) id, for the log
     * @param cudaVisibleDevices this JVM's {@code CUDA_VISIBLE_DEVICES} ({@code System.getenv}), null if unset
     */
    public static Binding bind(long task, String[] addresses, DeviceBinder binder, String cudaVisibleDevices) {
        int count = binder.deviceCount();
        int device = choose(addresses, count, cudaVisibleDevices);
        binder.bind(device);
        Binding b = new Binding(task, addresses[0].trim(), device, count, binder.describe());
        if (addresses.length > 1) {
            LOG.warn("task {} was assigned GPU addresses {}; using only the first", task, Arrays.toString(addresses));
        }
        LOG.info("{}; {}", b.logLine(), b.backend());
        return b;
    }

    /**
     * The entries of a {@code CUDA_VISIBLE_DEVICES} value (comma-separated, spaces trimmed; indices normalized, so
     * "01" is "1"), or null when unset or blank (every device visible). As CUDA does, the list ends at the first
     * entry that is neither an index nor a {@code GPU-}/{@code MIG-} UUID (so "-1" means no device).
     */
    static List<String> parseVisibleDevices(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            String p = part.trim();
            if (p.matches("\\d{1,6}")) {
                out.add(String.valueOf(Integer.parseInt(p)));
            } else if (p.startsWith("GPU-") || p.startsWith("MIG-")) {
                out.add(p);
            } else {
                break;
            }
        }
        return out;
    }

    private static int index(String s, String what) {
        if (!s.matches("\\d{1,6}")) {
            throw new IllegalArgumentException(what + " is not a device index (expected a number such as 0 or 1)");
        }
        return Integer.parseInt(s);
    }
}
