import Foundation
import S3

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An error answer from Step Functions (`TaskTimedOut`, `TaskDoesNotExist`, `InvalidToken`, …) or a transport failure.
struct StepFunctionsError: Error, CustomStringConvertible {
    var code: String
    var message: String
    /// The task is gone: stop heartbeating and do not report to it again.
    var isFinal: Bool { ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"].contains(code) }
    var description: String { message == code ? code : "\(code): \(message)" }
}

/// Step Functions task callbacks over the AWS JSON 1.0 protocol, signed with SigV4 for service `states`.
struct StepFunctionsClient: Sendable {
    var endpoint: URL
    var region: String
    var credentials: CredentialCache
    var session: URLSession

    static let maxOutput = 262_144
    static let maxError = 256
    static let maxCause = 32_768

    /// Endpoint from `AWS_ENDPOINT_URL_SFN`, then `AWS_ENDPOINT_URL`, else `https://states.<region>.amazonaws.com`.
    init(environment env: [String: String], credentials: CredentialCache) throws {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        let text =
            value("AWS_ENDPOINT_URL_SFN") ?? value("AWS_ENDPOINT_URL")
            ?? (region.hasPrefix("cn-")
                ? "https://states.\(region).amazonaws.com.cn" : "https://states.\(region).amazonaws.com")
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw JobFailure(.usage, "Step Functions endpoint \(redactURL(text)) is not an http(s) URL")
        }
        endpoint = url
        self.credentials = credentials
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 20
        session = URLSession(configuration: configuration)
    }

    func sendTaskSuccess(token: String, output: String) async throws {
        try await call("SendTaskSuccess", ["taskToken": token, "output": output])
    }

    func sendTaskFailure(token: String, error: String, cause: String) async throws {
        try await call(
            "SendTaskFailure",
            [
                "taskToken": token, "error": String(error.prefix(Self.maxError)),
                "cause": String(cause.prefix(Self.maxCause))
            ])
    }

    func sendTaskHeartbeat(token: String) async throws {
        try await call("SendTaskHeartbeat", ["taskToken": token])
    }

    /// One action with up to 4 attempts on throttling, 5xx and connection failures.
    func call(_ action: String, _ body: [String: String]) async throws {
        let payload = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await send(action, payload)
                return
            } catch let error as StepFunctionsError {
                let retryable =
                    error.code == "Transport" || error.code.hasPrefix("HTTP 5")
                    || error.code.contains("Throttl") || error.code == "ServiceUnavailable"
                guard retryable, attempt < 4 else { throw error }
            }
            try await Task.sleep(nanoseconds: UInt64(Double.random(in: 0...(0.25 * pow(2, Double(attempt)))) * 1e9))
        }
    }

    private func send(_ action: String, _ payload: Data) async throws {
        let credentials = try await self.credentials.current()
        var host = endpoint.host!
        if let port = endpoint.port { host += ":\(port)" }
        let path = endpoint.path.isEmpty ? "/" : endpoint.path
        let headers = [
            HTTPField("Host", host), HTTPField("Content-Type", "application/x-amz-json-1.0"),
            HTTPField("X-Amz-Target", "AWSStepFunctions.\(action)")
        ]
        let signed = SigV4Signer(service: "states", region: region)
            .signHeaders(
                SigningRequest(method: "POST", path: path, headers: headers), credentials: credentials,
                date: Date(), payloadHash: sha256Hex(payload), sendContentSHA256: false)
        var request = URLRequest(url: endpoint, timeoutInterval: 20)
        request.httpMethod = "POST"
        for field in headers.dropFirst() + signed.addedHeaders {
            request.setValue(field.value, forHTTPHeaderField: field.name)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await withDeadline(seconds: 30) { [session, request] in
                try await session.upload(for: request, from: payload)
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StepFunctionsError(code: "Transport", message: "cannot reach \(endpoint.host ?? "Step Functions")")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard !(200..<300).contains(status) else { return }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let type =
            (object["__type"] as? String ?? "HTTP \(status)").split(separator: "#").last.map(String.init)
            ?? "HTTP \(status)"
        let message = object["message"] as? String ?? object["Message"] as? String ?? "HTTP \(status)"
        throw StepFunctionsError(code: type, message: String(message.prefix(300)))
    }
}
