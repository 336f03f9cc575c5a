import Foundation
import Testing

@testable import Pipeline

@Suite struct ThreadsTests {
    @Test func cgroupLimitsParse() {
        #expect(cgroupV2CPULimit("max 100000\n") == nil)
        #expect(cgroupV2CPULimit("200000 100000\n") == 2)
        #expect(cgroupV2CPULimit("150000 100000") == 2)
        #expect(cgroupV2CPULimit("50000 100000") == 1)
        #expect(cgroupV2CPULimit("garbage") == nil)
        #expect(cgroupV1CPULimit(quota: "-1\n", period: "100000\n") == nil)
        #expect(cgroupV1CPULimit(quota: "400000\n", period: "100000\n") == 4)
        #expect(defaultThreadCount() >= 1)
        #expect(defaultThreadCount() <= ProcessInfo.processInfo.activeProcessorCount)
    }
}
