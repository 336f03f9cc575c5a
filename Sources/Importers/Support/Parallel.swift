import Dispatch

/// Runs `body(index)` for every index in `0..<count` on at most `threads` workers (worker w takes w, w + workers,
/// …). Each index is handled exactly once, so results written to per-index slots do not depend on `threads`.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 {
        for index in 0..<count { body(index) }
        return
    }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: count, by: workers) { work(index) }
        }
    }
}

/// Per-index result slots that parallel workers fill (each index by exactly one worker), read back in order.
public final class Slots<T>: @unchecked Sendable {
    private var storage: UnsafeMutableBufferPointer<T?>

    public init(_ count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit { storage.deinitialize().deallocate() }

    public subscript(index: Int) -> T? {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// Removes and returns the value at `index`.
    public func take(_ index: Int) -> T? {
        let value = storage[index]
        storage[index] = nil
        return value
    }

    public var count: Int { storage.count }
}
