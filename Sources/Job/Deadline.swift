import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs `body`, but gives up after `seconds`: FoundationNetworking's URLSession has been seen to never finish a request
/// whose server closed the connection, despite its own timeouts, which would hang the job. The abandoned request is
/// cancelled and left to end on its own.
func withDeadline<T: Sendable>(
    seconds: Double, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let once = ResumeOnce(continuation)
        let work = Task {
            do { once.finish(.success(try await body())) } catch { once.finish(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            once.finish(.failure(URLError(.timedOut)))
            work.cancel()
        }
    }
}

/// Resumes a continuation with the first result it is given, ignoring later ones.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Error>?>

    init(_ continuation: CheckedContinuation<T, Error>) { self.continuation = Mutex(continuation) }

    func finish(_ result: Result<T, Error>) {
        continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }?.resume(with: result)
    }
}
