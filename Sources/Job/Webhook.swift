import Crypto
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Posts JSON events to a URL, signed with `X-Optimize-Signature: sha256=<hex HMAC-SHA256 of the body>` when a
/// secret is set. Best effort: a failed delivery is logged, never fails the job, and an attempt gives up after 15 s
/// whatever URLSession does (`withDeadline`).
struct Webhook: Sendable {
    var url: URL
    var secret: String?
    var session: URLSession

    init(url: URL, secret: String?) {
        self.url = url
        self.secret = secret
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        session = URLSession(configuration: configuration)
    }

    /// The signature header value for `body`.
    static func signature(of body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Sends one event (up to 3 attempts); returns a one-line problem description, or nil when delivered.
    func send(_ event: [String: Any]) async -> String? {
        let body = Data(jsonLine(event).utf8)
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let secret {
            request.setValue(Self.signature(of: body, secret: secret), forHTTPHeaderField: "X-Optimize-Signature")
        }
        var problem = "not sent"
        for attempt in 0..<3 {
            if attempt > 0 { await pause(seconds: 0.2 * Double(attempt)) }
            do {
                let (_, response) = try await withDeadline(seconds: 15) { [session, request] in
                    try await session.upload(for: request, from: body)
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) { return nil }
                problem = "HTTP \(status)"
                if (400..<500).contains(status) { break }
            } catch {
                problem = "cannot reach \(url.host ?? "the webhook")"
            }
        }
        return problem
    }
}
