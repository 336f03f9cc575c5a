import Dispatch

/// Runs `body` for every index in `0..<count` on at most `threads` workers and returns the results in index order.
///
/// Each result goes into its own slot, so the output is identical for any thread count. The one parallel loop of
/// the stages and the texture stage; the caller picks `threads` (see `Settings.threads`).
public func parallelMap<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let workers = max(1, min(threads, count))
    if workers == 1 { return (0..<count).map(body) }
    let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    slots.initialize(repeating: nil)
    defer { slots.deinitialize().deallocate() }
    nonisolated(unsafe) let shared = slots
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        // Static striding: worker w handles w, w + workers, … — every slot is written by exactly one worker.
        for index in stride(from: worker, to: count, by: workers) { shared[index] = body(index) }
    }
    return slots.map { $0! }
}
