import Crypto
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One GET attempt streamed into a file: bytes are written as they arrive, hashed, and capped.
final class StreamingDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // Mutable state is touched only on the session's serial delegate queue, then read after completion.
    private let request: URLRequest
    private let path: String
    private let maxBytes: Int64
    private let location: S3Location
    private let timeout: TimeInterval
    private var file: FileHandle?
    private var status = 0
    private var headers: [String: String] = [:]
    private var errorBody = Data()
    private var received: Int64 = 0
    private var sha256 = SHA256()
    private var md5 = Insecure.MD5()
    private var failure: S3Error?
    private var continuation: CheckedContinuation<DownloadResult, Error>?

    init(request: URLRequest, path: String, maxBytes: Int64, location: S3Location, timeout: TimeInterval) {
        self.request = request
        self.path = path
        self.maxBytes = maxBytes
        self.location = location
        self.timeout = timeout
    }

    func run() async throws -> DownloadResult {
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path)
        else {
            throw S3Error(.permanent, location: path, "cannot create the download file")
        }
        self.file = file
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.addOperation {
                    self.continuation = continuation
                    task.resume()
                }
            }
        } onCancel: {
            task.cancel()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let http = response as? HTTPURLResponse
        status = http?.statusCode ?? 0
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        if (200..<300).contains(status), let length = headers["content-length"].flatMap(Int64.init), length > maxBytes {
            failure = S3Error(
                .tooLarge, location: location.description,
                "the object is \(length) bytes, more than the \(maxBytes) allowed")
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        guard (200..<300).contains(status) else {
            if errorBody.count < 65536 { errorBody.append(data) }
            return
        }
        received += Int64(data.count)
        guard received <= maxBytes else {
            failure = S3Error(
                .tooLarge, location: location.description, "the object is more than the \(maxBytes) bytes allowed")
            dataTask.cancel()
            return
        }
        do {
            try file?.write(contentsOf: data)
        } catch {
            failure = S3Error(.permanent, location: path, "cannot write the download (disk full?)")
            dataTask.cancel()
            return
        }
        sha256.update(data: data)
        md5.update(data: data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        try? file?.close()
        file = nil
        continuation?.resume(with: Result { try finish(error) })
        continuation = nil
    }

    private func finish(_ error: Error?) throws -> DownloadResult {
        if let failure { throw failure }
        if let error { throw error }
        guard (200..<300).contains(status) else {
            throw S3Error.fromResponse(
                status: status, code: XML.first("Code", in: errorBody), location: location.description,
                operation: "GET")
        }
        if headers["content-encoding"] == nil, let expected = headers["content-length"].flatMap(Int64.init),
            expected != received
        {
            throw S3Error(
                .transient, location: location.description,
                "GET: the body was truncated (\(received) of \(expected) bytes)")
        }
        let eTag = headers["etag"]
        // A plain 32-hex ETag is the MD5 of the content, except for multipart and SSE-KMS/SSE-C objects.
        if let eTag, headers["content-encoding"] == nil, headers["x-amz-server-side-encryption"] != "aws:kms",
            headers["x-amz-server-side-encryption-customer-algorithm"] == nil
        {
            let bare = eTag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if bare.count == 32, bare.allSatisfy(\.isHexDigit), bare.lowercased() != hex(md5.finalize()) {
                throw S3Error(
                    .transient, location: location.description,
                    "GET: the content does not match its ETag (corrupted transfer)")
            }
        }
        return DownloadResult(size: received, sha256: hex(sha256.finalize()), eTag: eTag)
    }
}
