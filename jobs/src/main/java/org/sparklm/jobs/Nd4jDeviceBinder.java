package org.sparklm.jobs;

import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.gpu.DeviceBinder;
import org.sparklm.gpu.GpuBinding;

/**
 * Binds a training task to the GPU Spark assigned to it, through ND4J's affinity manager. Called on the task's thread
 * before it creates any array (see {@link RoundLoop#prepareTask}). On the CPU backend there is no device to bind:
 * the assignment is only logged (that is how the rule runs in tests, with a fake discovery script).
 */
final class Nd4jDeviceBinder implements DeviceBinder {
    private static final Logger LOG = LoggerFactory.getLogger(Nd4jDeviceBinder.class);

    private final boolean cuda;

    private Nd4jDeviceBinder(boolean cuda) {
        this.cuda = cuda;
    }

    /** Binds the current Spark task to its GPU address, when Spark assigned one. */
    static void bindCurrentTask() {
        TaskContext ctx = TaskContext.get();
        if (ctx == null) {
            return;
        }
        ResourceInformation gpu = ctx.resourcesJMap().get(GpuBinding.RESOURCE);
        if (gpu == null || gpu.addresses().length == 0) {
            return;
        }
        boolean cuda = Nd4j.getBackend().getClass().getName().toLowerCase(java.util.Locale.ROOT).contains("cuda");
        if (!cuda) {
            LOG.warn("task {} was assigned GPU address(es) {} but ND4J runs its CPU backend: training on the CPU"
                + " (build the application jar with -Pcuda for GPU executors)", ctx.partitionId(),
                String.join(",", gpu.addresses()));
            return;
        }
        GpuBinding.bind(ctx.partitionId(), gpu.addresses(), new Nd4jDeviceBinder(true),
            System.getenv(GpuBinding.CUDA_VISIBLE_DEVICES));
    }

    @Override
    public int deviceCount() {
        return cuda ? Nd4j.getAffinityManager().getNumberOfDevices() : 0;
    }

    @Override
    public void bind(int device) {
        Nd4j.getAffinityManager().unsafeSetDevice(device);
    }

    @Override
    public String describe() {
        return "ND4J " + Nd4j.getBackend().getClass().getSimpleName() + ", " + deviceCount() + " device(s)";
    }
}
