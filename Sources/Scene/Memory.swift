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
/// MiB with one arena, and faster). Called once, first thing, by the `optimize` CLI.
public func keepFreedMemoryForReuse() {
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let mallopt = glibcFunction("mallopt", as: MallOpt.self) else { return }
    let trimThreshold: Int32 = -1
    let mmapThreshold: Int32 = -3
    let arenaMax: Int32 = -8  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX in <malloc.h>
    _ = mallopt(arenaMax, 1)
    _ = mallopt(mmapThreshold, Int32.max)
    _ = mallopt(trimThreshold, Int32.max)
}

/// Gives the freed heap back to the kernel (glibc's `malloc_trim`).
///
/// With `keepFreedMemoryForReuse`, the heap after the stages holds the high-water mark of the import and the stages,
/// largely free but resident. The encoded file is the largest single buffer of a plain conversion; when no free block
/// of its size is left it lands past all of that, and the peak depended on where the threads' earlier buffers
/// happened to sit (a 1.7 M-triangle OBJ: 119 or 163 MiB from run to run). The GLB writer trims once it has planned
/// the file (the scene's buffers it does not copy from are free then) and again as it lets go of the rest.
public func returnFreedMemory() {
    typealias MallocTrim = @convention(c) (Int) -> Int32
    _ = glibcFunction("malloc_trim", as: MallocTrim.self)?(0)
}

/// A glibc function outside the C headers Swift imports, looked up at run time; nil with another C library, where
/// the memory policy above does not apply and nothing changes.
private func glibcFunction<F>(_ name: String, as type: F.Type) -> F? {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
    return unsafeBitCast(symbol, to: type)
}
