import Testing

@testable import Job

/// Issue 16: without `--timeout` the conversion limit follows the input's size instead of a flat 3,000 s.
@Suite struct DefaultTimeoutTests {
    @Test func scalesWithInputSizeBetweenFloorAndCeiling() {
        #expect(JobSpec.defaultTimeout(inputBytes: 0) == 120)
        #expect(JobSpec.defaultTimeout(inputBytes: 10_000_000) == 150)
        #expect(JobSpec.defaultTimeout(inputBytes: 100_000_000) == 420)
        #expect(JobSpec.defaultTimeout(inputBytes: 5_000_000_000) == 3000)
        #expect(JobSpec.defaultTimeout(inputBytes: -1) == 120)
    }
}
