import FoundationEssentials

/// The number of worker threads to use: the container's CPU limit (cgroup v2, then v1) capped by the
/// active processor count, at least 1.
public func defaultThreadCount() -> Int {
    let processors = max(1, ProcessInfo.processInfo.activeProcessorCount)
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    var limit: Int?
    if let cpuMax = read("/sys/fs/cgroup/cpu.max") {
        limit = cgroupV2CPULimit(cpuMax)
    } else if let quota = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
        let period = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    {
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
    cpuLimit(
        quota: Int(quota.trimmed),
        period: Int(period.trimmed))
}

private func cpuLimit(quota: Int?, period: Int?) -> Int? {
    guard let quota, let period, quota > 0, period > 0 else { return nil }
    return max(1, (quota + period - 1) / period)
}
