import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Makes glibc keep freed memory in one heap for the next allocation instead of returning it to the kernel.
///
/// Every stage makes and drops buffers of tens to hundreds of megabytes (index buffers, meshoptimizer's work
/// arrays). By default glibc maps each one afresh and unmaps it when freed, so the kernel faults in and zeroes all of
/// its pages again; reusing them saves 10-15 % of a multi-million-triangle conversion at the same peak memory
/// (benchmarks/RESULTS.md, large inputs). One arena for all threads: with an arena per thread, memory a worker
/// thread freed (the parallel OBJ parse, simplify's work arrays) could not serve the main thread's next buffer, and
/// the peak depended on which thread allocated first (5.6 M-triangle OBJ: 748-829 MiB by allocation order, 678-701
/// MiB with one arena, and faster). `mallopt` is looked up at run time: it is glibc's, outside the C library headers
/// Swift imports, and without it (another C library) nothing changes.
func keepFreedMemoryForReuse() {
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    let trimThreshold: Int32 = -1
    let mmapThreshold: Int32 = -3
    let arenaMax: Int32 = -8  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX in <malloc.h>
    _ = mallopt(arenaMax, 1)
    _ = mallopt(mmapThreshold, Int32.max)
    _ = mallopt(trimThreshold, Int32.max)
}
