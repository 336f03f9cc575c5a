import Dispatch
import Synchronization

/// Runs `body` for every index in `0..<count` on at most `threads` workers and returns the results in index order.
///
/// Each result goes into its own slot, so the output is identical for any thread count. With `parallelFor` and
/// `Slots`, the one parallel loop of the readers, the stages and the texture stage; the caller picks `threads`.
public func parallelMap<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let slots = Slots<T>(count)
    parallelFor(count, threads: threads) { slots[$0] = body($0) }
    return (0..<count).map { slots.take($0)! }
}

/// Runs `body(index)` for every index in `0..<count` on at most `threads` workers, each taking the next index not yet
/// taken (so put long tasks first). Each index is handled exactly once, so results written to per-index slots do
/// not depend on `threads`.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 {
        for index in 0..<count { body(index) }
        return
    }
    let next = Atomic(0)
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                work(index)
            }
        }
    }
}

/// Items per range of `forChunks` and `mapChunks`.
public let chunkSize = 1 << 16

/// Runs `body` on consecutive ranges of `chunkSize` items of `0..<count`, on at most `threads` workers.
public func forChunks(of count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    parallelFor((count + chunkSize - 1) / chunkSize, threads: threads) { c in
        body(c * chunkSize..<min(count, (c + 1) * chunkSize))
    }
}

/// `body`'s result for each range of `chunkSize` items of `0..<count`, in range order (see `parallelMap`).
public func mapChunks<T: Sendable>(
    of count: Int, threads: Int, _ body: @Sendable (Range<Int>) -> T
) -> [T] {
    parallelMap((count + chunkSize - 1) / chunkSize, threads: threads) { c in
        body(c * chunkSize..<min(count, (c + 1) * chunkSize))
    }
}

/// The layout of a counting sort over chunks (`counts[chunk][bucket]` items each): buckets one after the other, each
/// bucket's items in chunk order. `buckets[b]` is where bucket b starts (`buckets[count]` the total), `chunks[c][b]`
/// where chunk c writes its first item of bucket b.
public func countingSortLayout(_ counts: [[Int]], buckets count: Int) -> (buckets: [Int], chunks: [[Int]]) {
    var buckets = [Int](repeating: 0, count: count + 1)
    var chunks = [[Int]](repeating: [Int](repeating: 0, count: count), count: counts.count)
    var running = 0
    for b in 0..<count {
        buckets[b] = running
        for c in counts.indices {
            chunks[c][b] = running
            running += counts[c][b]
        }
    }
    buckets[count] = running
    return (buckets, chunks)
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
