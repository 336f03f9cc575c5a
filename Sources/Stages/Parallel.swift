import Dispatch
import Foundation

/// Runs `body` for every index in `0..<count` on at most `threads` workers and returns the results in index order.
///
/// Each result goes into its own slot, so the output is identical for any thread count.
func parallelMap<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
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

/// The number of worker threads to use: the container's CPU limit (cgroup v2, then v1) capped by the
/// active processor count, at least 1.
public func defaultThreadCount() -> Int {
    let processors = max(1, ProcessInfo.processInfo.activeProcessorCount)
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    var limit: Int?
    if let cpuMax = read("/sys/fs/cgroup/cpu.max") {
        limit = cgroupV2CPULimit(cpuMax)
    } else if let quota = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
              let period = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") {
        limit = cgroupV1CPULimit(quota: quota, period: period)
    }
    return max(1, min(processors, limit ?? processors))
}

/// Parses cgroup v2 `cpu.max` ("QUOTA PERIOD" or "max PERIOD") into whole CPUs, rounded up; nil when unlimited or malformed.
public func cgroupV2CPULimit(_ cpuMax: String) -> Int? {
    let fields = cpuMax.split(whereSeparator: \.isWhitespace)
    guard fields.count == 2, fields[0] != "max" else { return nil }
    return cpuLimit(quota: Int(fields[0]), period: Int(fields[1]))
}

/// Parses cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` into whole CPUs, rounded up; nil when unlimited (-1) or malformed.
public func cgroupV1CPULimit(quota: String, period: String) -> Int? {
    cpuLimit(quota: Int(quota.trimmingCharacters(in: .whitespacesAndNewlines)),
             period: Int(period.trimmingCharacters(in: .whitespacesAndNewlines)))
}

private func cpuLimit(quota: Int?, period: Int?) -> Int? {
    guard let quota, let period, quota > 0, period > 0 else { return nil }
    return max(1, (quota + period - 1) / period)
}
