package org.sparklm.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GpuBindingTest {

    private static String[] a(String... s) {
        return s;
    }

    private static void fails(String expectedPart, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(expectedPart), e.getMessage());
    }

    @Test
    void addressIsTheDeviceWhenTheExecutorSeesEveryGpu() {
        assertEquals(0, GpuBinding.choose(a("0"), 2, null));
        assertEquals(1, GpuBinding.choose(a("1"), 2, null));
        assertEquals(3, GpuBinding.choose(a(" 3 "), 4, ""));
        assertEquals(1, GpuBinding.choose(a("1", "0"), 2, null), "several addresses: the first");
    }

    @Test
    void restrictedExecutorMapsTheAddressToItsPositionInCudaVisibleDevices() {
        assertEquals(0, GpuBinding.choose(a("2"), 2, "2,3"));
        assertEquals(1, GpuBinding.choose(a("3"), 2, "2, 3"));
        assertEquals(0, GpuBinding.choose(a("1"), 1, "01"));
        assertEquals(1, GpuBinding.choose(a("5"), 2, "GPU-8f3a,5"));
        fails("GPU address 1 is not among the devices of this executor: CUDA_VISIBLE_DEVICES=2,3",
            () -> GpuBinding.choose(a("1"), 2, "2,3"));
        fails("entry 'GPU-8f3a' of CUDA_VISIBLE_DEVICES=GPU-8f3a",
            () -> GpuBinding.choose(a("0"), 1, "GPU-8f3a"));
        fails("not among the devices", () -> GpuBinding.choose(a("0"), 1, "-1"));
    }

    @Test
    void rejectsWhatCannotBeBound() {
        fails("assigned no GPU address", () -> GpuBinding.choose(a(), 2, null));
        fails("assigned no GPU address", () -> GpuBinding.choose(null, 2, null));
        fails("GPU address 'gpu0' from Spark is not a device index", () -> GpuBinding.choose(a("gpu0"), 2, null));
        fails("GPU address '-1' from Spark", () -> GpuBinding.choose(a("-1"), 2, null));
        fails("maps to device 2 but the backend sees only 2 devices (0..1); CUDA_VISIBLE_DEVICES is unset",
            () -> GpuBinding.choose(a("2"), 2, null));
        fails("the backend sees 0 devices (is the executor running the CPU backend?",
            () -> GpuBinding.choose(a("0"), 0, null));
        fails("maps to device 1 but the backend sees only 1 devices (0..0); CUDA_VISIBLE_DEVICES=4,5",
            () -> GpuBinding.choose(a("5"), 1, "4,5"));
    }

    @Test
    void parsesCudaVisibleDevicesAsCudaDoes() {
        assertNull(GpuBinding.parseVisibleDevices(null));
        assertNull(GpuBinding.parseVisibleDevices("  "));
        assertEquals(List.of("2", "3"), GpuBinding.parseVisibleDevices("2,3"));
        assertEquals(List.of("1"), GpuBinding.parseVisibleDevices("1,-1,2"), "the list ends at an invalid entry");
        assertEquals(List.of(), GpuBinding.parseVisibleDevices("-1"));
    }

    @Test
    void bindBindsTheChosenDeviceAndDescribesIt() {
        List<Integer> bound = new ArrayList<>();
        DeviceBinder fake = new DeviceBinder() {
            @Override
            public int deviceCount() {
                return 2;
            }

            @Override
            public void bind(int device) {
                bound.add(device);
            }

            @Override
            public String describe() {
                return "fake backend, 2 devices";
            }
        };
        GpuBinding.Binding b = GpuBinding.bind(7, a("3"), fake, "2,3");
        assertEquals(List.of(1), bound);
        assertEquals("task 7 bound to GPU address 3 (device 1 of 2)", b.logLine());
        assertEquals("fake backend, 2 devices", b.backend());
        assertThrows(IllegalArgumentException.class, () -> GpuBinding.bind(8, a("9"), fake, null));
        assertEquals(List.of(1), bound, "nothing bound on failure");
    }
}
