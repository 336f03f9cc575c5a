import Crypto
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What HEAD says about an object.
public struct ObjectInfo: Sendable, Equatable {
    public var size: Int64
    public var eTag: String?
    public var contentType: String?
    /// User metadata (`x-amz-meta-NAME`), names lowercased without the prefix.
    public var metadata: [String: String]
}

/// A finished download.
public struct DownloadResult: Sendable, Equatable {
    public var size: Int64
    /// Hex SHA-256 of the bytes written.
    public var sha256: String
    public var eTag: String?
}

/// A finished upload.
public struct UploadResult: Sendable, Equatable {
    public var eTag: String?
    /// 0 for a single PUT, else the number of parts.
    public var parts: Int
}

/// An S3 client on URLSession: SigV4, retries with full-jitter backoff, streaming downloads, multipart uploads.
///
/// Errors are `S3Error`s; their messages name the object but never credentials, signatures or signed URLs.
public struct S3Client: Sendable {
    public let configuration: S3Configuration
    public let credentials: CredentialCache
    let session: URLSession

    public init(configuration: S3Configuration, credentials: any CredentialProvider) {
        self.configuration = configuration
        self.credentials = CredentialCache(provider: credentials)
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.timeout
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        sessionConfiguration.urlCache = nil
        sessionConfiguration.httpMaximumConnectionsPerHost = configuration.maxConcurrentParts + 2
        self.session = URLSession(configuration: sessionConfiguration)
    }

    /// Client configured from the environment (region, endpoint, credential chain).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Client
    {
        S3Client(
            configuration: try S3Configuration.fromEnvironment(env),
            credentials: try defaultCredentialProvider(environment: env))
    }

    // MARK: - Operations

    /// HEAD: size, ETag, content type and user metadata.
    /// A 403 is followed by a one-byte GET to learn S3's error code (HEAD answers have no body to carry it).
    public func head(_ location: S3Location) async throws -> ObjectInfo {
        let response: Response
        do {
            response = try await send("HEAD", location, operation: "HEAD")
        } catch let error as S3Error where error.status == 403 && error.code == nil {
            throw await diagnose(error, at: location)
        }
        var metadata: [String: String] = [:]
        for (name, value) in response.headers where name.hasPrefix("x-amz-meta-") {
            metadata[String(name.dropFirst("x-amz-meta-".count))] = value
        }
        return ObjectInfo(
            size: response.headers["content-length"].flatMap { Int64($0) } ?? 0,
            eTag: response.headers["etag"], contentType: response.headers["content-type"],
            metadata: metadata)
    }

    /// The error a one-byte GET of `location` reports, when it names a code; else `error`.
    private func diagnose(_ error: S3Error, at location: S3Location) async -> S3Error {
        do {
            _ = try await send("GET", location, headers: [HTTPField("Range", "bytes=0-0")], operation: "HEAD")
        } catch let detailed as S3Error where detailed.code != nil && !detailed.isTransient {
            return detailed
        } catch {}
        return error
    }

    /// PUT of an in-memory object (up to 5 GiB; meant for small ones).
    @discardableResult
    public func put(
        _ data: Data, to location: S3Location, contentType: String = "application/octet-stream",
        metadata: [String: String] = [:]
    ) async throws -> UploadResult {
        let headers = try objectHeaders(location, contentType: contentType, metadata: metadata)
        let response = try await send("PUT", location, headers: headers, body: data, operation: "PUT")
        return UploadResult(eTag: response.headers["etag"], parts: 0)
    }

    /// Uploads a file: one PUT up to `multipartThreshold`, parallel multipart above it.
    /// A failed multipart upload is aborted, so no object becomes visible.
    @discardableResult
    public func upload(
        file path: String, to location: S3Location, contentType: String = "application/octet-stream",
        metadata: [String: String] = [:]
    ) async throws -> UploadResult {
        let size: Int64
        do {
            size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw S3Error(.permanent, location: path, "cannot read the file to upload")
        }
        if size <= configuration.multipartThreshold {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw S3Error(.permanent, location: path, "cannot read the file to upload")
            }
            return try await put(data, to: location, contentType: contentType, metadata: metadata)
        }
        return try await multipartUpload(
            file: path, size: size, to: location, contentType: contentType, metadata: metadata)
    }

    /// Streams an object into `path` (written under a temporary name, renamed when complete and verified).
    /// Fails with `.tooLarge` beyond `maxBytes`; checks the length against Content-Length and, for single-part
    /// unencrypted objects, the MD5 against the ETag. Nothing is left at `path` on failure.
    @discardableResult
    public func download(_ location: S3Location, to path: String, maxBytes: Int64 = .max) async throws -> DownloadResult
    {
        let partial = "\(path).part-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            let result = try await withRetries(operation: "GET", location: location) { credentials in
                let request = try signedRequest(
                    "GET", location, query: [], headers: [], payloadHash: SigV4Signer.emptyPayloadHash,
                    credentials: credentials)
                return try await StreamingDownload(
                    request: request, path: partial, maxBytes: maxBytes, location: location,
                    timeout: configuration.timeout
                ).run()
            }
            _ = try? FileManager.default.removeItem(atPath: path)
            do {
                try FileManager.default.moveItem(atPath: partial, toPath: path)
            } catch {
                throw S3Error(.permanent, location: path, "cannot move the downloaded file into place")
            }
            return result
        } catch {
            _ = try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    // MARK: - Multipart

    func multipartUpload(
        file path: String, size: Int64, to location: S3Location, contentType: String,
        metadata: [String: String]
    ) async throws -> UploadResult {
        let headers = try objectHeaders(location, contentType: contentType, metadata: metadata)
        let created = try await send(
            "POST", location, query: [HTTPField("uploads", "")], headers: headers,
            body: Data(), operation: "CreateMultipartUpload")
        guard let uploadID = XML.first("UploadId", in: created.body) else {
            throw S3Error(.permanent, location: location.description, "CreateMultipartUpload returned no UploadId")
        }
        do {
            let partSize = configuration.partSize(forObjectOfSize: size)
            let count = Int((size + partSize - 1) / partSize)
            var eTags = [String](repeating: "", count: count)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 0
                func addPart() {
                    let index = next
                    next += 1
                    group.addTask {
                        let offset = Int64(index) * partSize
                        let data = try readChunk(
                            path, offset: offset, count: Int(min(partSize, size - offset)), location: location)
                        let response = try await send(
                            "PUT", location,
                            query: [HTTPField("partNumber", String(index + 1)), HTTPField("uploadId", uploadID)],
                            body: data, operation: "UploadPart \(index + 1)")
                        guard let eTag = response.headers["etag"] else {
                            throw S3Error(
                                .permanent, location: location.description, "UploadPart \(index + 1) returned no ETag")
                        }
                        return (index, eTag)
                    }
                }
                while next < min(count, configuration.maxConcurrentParts) { addPart() }
                while let (index, eTag) = try await group.next() {
                    eTags[index] = eTag
                    if next < count { addPart() }
                }
            }
            let parts = eTags.enumerated().map {
                "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XML.escape($0.element))</ETag></Part>"
            }.joined()
            let body = Data(
                "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(parts)</CompleteMultipartUpload>"
                    .utf8)
            let completed = try await send(
                "POST", location, query: [HTTPField("uploadId", uploadID)],
                headers: [HTTPField("Content-Type", "application/xml")], body: body,
                operation: "CompleteMultipartUpload")
            return UploadResult(eTag: XML.first("ETag", in: completed.body), parts: count)
        } catch {
            // Detached so that a cancelled upload (SIGTERM) still gets aborted.
            await Task.detached { await abortMultipartUpload(location, uploadID: uploadID) }.value
            throw error
        }
    }

    /// Best effort: the VAMS role may lack s3:AbortMultipartUpload, and lifecycle rules clean up leftovers.
    func abortMultipartUpload(_ location: S3Location, uploadID: String) async {
        _ = try? await send(
            "DELETE", location, query: [HTTPField("uploadId", uploadID)], operation: "AbortMultipartUpload")
    }

    // MARK: - Requests

    struct Response {
        var status: Int
        /// Lowercased names.
        var headers: [String: String]
        var body: Data
    }

    func objectHeaders(_ location: S3Location, contentType: String, metadata: [String: String]) throws -> [HTTPField] {
        var headers = [HTTPField("Content-Type", contentType)]
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let validName =
                !name.isEmpty
                && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
            let validValue = value.allSatisfy { $0.isASCII && !$0.isNewline && $0 != "\t" }
            guard validName, validValue else {
                throw S3Error(
                    .permanent, location: location.description,
                    "metadata \(name) must be an ASCII token with a one-line ASCII value")
            }
            headers.append(HTTPField("x-amz-meta-\(name.lowercased())", value))
        }
        return headers
    }

    /// One signed request with retries; returns 2xx answers, throws classified `S3Error`s.
    func send(
        _ method: String, _ location: S3Location, query: [HTTPField] = [], headers: [HTTPField] = [],
        body: Data? = nil, operation: String
    ) async throws -> Response {
        let payloadHash = sha256Hex(body ?? Data())
        return try await withRetries(operation: operation, location: location) { credentials in
            var request = try signedRequest(
                method, location, query: query, headers: headers, payloadHash: payloadHash,
                credentials: credentials)
            if let body {
                request.setValue(String(body.count), forHTTPHeaderField: "Content-Length")
                // libcurl under URLSession stalls until the timeout when a reused connection dies under an upload
                // (it cannot rewind the body to retry): give every request with a body its own connection.
                request.setValue("close", forHTTPHeaderField: "Connection")
            }
            let data: Data
            let urlResponse: URLResponse
            if let body, method != "GET", method != "HEAD" {
                (data, urlResponse) = try await session.upload(for: request, from: body)
            } else {
                (data, urlResponse) = try await session.data(for: request)
            }
            guard let http = urlResponse as? HTTPURLResponse else {
                throw S3Error(.transient, location: location.description, "\(operation): not an HTTP answer")
            }
            var fields: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
            }
            let response = Response(status: http.statusCode, headers: fields, body: data)
            if method != "HEAD", let expected = fields["content-length"].flatMap(Int.init), expected != data.count,
                fields["content-encoding"] == nil
            {
                throw S3Error(
                    .transient, location: location.description,
                    "\(operation): the answer was truncated (\(data.count) of \(expected) bytes)")
            }
            // S3 may answer 200 with an <Error> body (CompleteMultipartUpload, copies): that is a failure.
            let errorBody = Self.isErrorDocument(data)
            guard (200..<300).contains(http.statusCode), !errorBody else {
                throw S3Error.fromResponse(
                    status: http.statusCode, code: XML.first("Code", in: data),
                    location: location.description, operation: operation)
            }
            return response
        }
    }

    static func isErrorDocument(_ data: Data) -> Bool {
        let head = String(decoding: data.prefix(512), as: UTF8.self)
        guard let start = head.range(of: "<", options: [], range: head.startIndex..<head.endIndex) else { return false }
        var rest = head[start.lowerBound...]
        if rest.hasPrefix("<?xml"), let end = rest.range(of: "?>") {
            rest = rest[end.upperBound...].drop(while: { $0.isWhitespace })
        }
        return rest.hasPrefix("<Error>")
    }

    func signedRequest(
        _ method: String, _ location: S3Location, query: [HTTPField], headers: [HTTPField],
        payloadHash: String, credentials: AWSCredentials
    ) throws -> URLRequest {
        // URLSession (libcurl) removes "." and ".." segments from URLs, so such keys cannot be addressed.
        guard
            !location.key.split(separator: "/", omittingEmptySubsequences: false).contains(where: {
                $0 == "." || $0 == ".."
            })
        else {
            throw S3Error(
                .permanent, location: location.description, "keys with \".\" or \"..\" path segments are not supported")
        }
        let (base, path) = configuration.address(bucket: location.bucket, key: location.key)
        var urlText = base + SigV4Signer.uriEncode(path, keepSlash: true)
        if !query.isEmpty {
            urlText +=
                "?"
                + query.map { "\(SigV4Signer.uriEncode($0.name))=\(SigV4Signer.uriEncode($0.value))" }
                .joined(separator: "&")
        }
        guard let url = URL(string: urlText), let host = url.host else {
            throw S3Error(.permanent, location: location.description, "cannot form a request URL")
        }
        var hostHeader = host
        if let port = url.port, !(url.scheme == "http" && port == 80), !(url.scheme == "https" && port == 443) {
            hostHeader += ":\(port)"
        }
        let signer = SigV4Signer(service: "s3", region: configuration.region)
        let signing = SigningRequest(
            method: method, path: path, query: query, headers: [HTTPField("Host", hostHeader)] + headers)
        let signed = signer.signHeaders(
            signing, credentials: credentials, date: Date(), payloadHash: payloadHash,
            sendContentSHA256: true)
        var request = URLRequest(url: url, timeoutInterval: configuration.timeout)
        request.httpMethod = method
        for field in headers + signed.addedHeaders { request.setValue(field.value, forHTTPHeaderField: field.name) }
        return request
    }

    /// Runs `attempt` until it succeeds, a permanent error, or the retry budget is spent.
    /// `ExpiredToken` refreshes the credentials and retries once, without counting as a retry.
    func withRetries<T: Sendable>(
        operation: String, location: S3Location,
        _ attempt: (AWSCredentials) async throws -> T
    ) async throws -> T {
        var refreshed = false
        var failures = 0
        while true {
            try Task.checkCancellation()
            let credentials = try await self.credentials.current()
            let failure: S3Error
            do {
                return try await attempt(credentials)
            } catch let error as S3Error {
                if error.code == "ExpiredToken" || error.code == "TokenRefreshRequired", !refreshed {
                    refreshed = true
                    await self.credentials.invalidate(credentials)
                    continue
                }
                guard error.isTransient else { throw error }
                failure = error
            } catch let error as URLError {
                if error.code == .cancelled { throw CancellationError() }
                failure = S3Error(
                    .transient, location: location.description,
                    "\(operation): connection failed (\(Self.describe(error)))")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = S3Error(
                    .transient, location: location.description, "\(operation): \(error.localizedDescription)")
            }
            failures += 1
            guard failures < configuration.retry.maxAttempts else {
                var final = failure
                final.message += " after \(failures) attempts"
                throw final
            }
            let delay = configuration.retry.delay(beforeRetry: failures - 1)
            try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        }
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: "timed out"
        case .networkConnectionLost: "connection lost"
        case .cannotConnectToHost: "cannot connect"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .badServerResponse: "bad server response"
        default: "URL error \(error.code.rawValue)"
        }
    }
}

func readChunk(_ path: String, offset: Int64, count: Int, location: S3Location) throws -> Data {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw S3Error(.permanent, location: path, "cannot open the file to upload")
    }
    defer { try? handle.close() }
    do {
        try handle.seek(toOffset: UInt64(offset))
        let data = try handle.read(upToCount: count) ?? Data()
        guard data.count == count else {
            throw S3Error(.permanent, location: path, "the file shrank while being uploaded to \(location)")
        }
        return data
    } catch let error as S3Error {
        throw error
    } catch {
        throw S3Error(.permanent, location: path, "cannot read the file to upload")
    }
}
