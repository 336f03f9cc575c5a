#if canImport(Glibc)
    import Glibc
#endif

/// Gives the memory the stages freed back to the kernel (glibc's `malloc_trim`, looked up at run time; elsewhere
/// nothing happens).
///
/// The CLI makes glibc keep freed memory for reuse (`keepFreedMemoryForReuse`), so after the stages the heap holds
/// the high-water mark of the import and the stages, largely free but resident. The encoded file is the largest
/// single buffer of a plain conversion; when no free block of its size is left it lands past all of that, and the
/// peak depended on where the threads' earlier buffers happened to sit (a 1.7 M-triangle OBJ: 119 or 163 MiB from
/// run to run). Trimmed first, the heap is resident only where it is used.
func returnFreedMemory() {
    typealias MallocTrim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
}
