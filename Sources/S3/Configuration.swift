import Foundation

/// An object's address: `s3://bucket/key`. The key is kept exactly as given (no percent-decoding).
public struct S3Location: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket/key`; throws a `.permanent` `S3Error` naming the text when it is not one.
    public init(parsing text: String) throws {
        guard text.hasPrefix("s3://") else { throw S3Error(.permanent, "\(text) is not an s3:// URL") }
        let rest = text.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/"), rest.index(after: slash) < rest.endIndex else {
            throw S3Error(.permanent, "\(text) has no object key (expected s3://bucket/key)")
        }
        let bucket = String(rest[..<slash])
        let validBucket =
            (3...63).contains(bucket.count)
            && bucket.allSatisfy {
                $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".")
            }
        guard validBucket else { throw S3Error(.permanent, "\(text): \(bucket) is not a valid bucket name") }
        self.init(bucket: bucket, key: String(rest[rest.index(after: slash)...]))
    }

    public var description: String { "s3://\(bucket)/\(key)" }
}

/// Retry schedule: full-jitter exponential backoff, `random(0, min(maxDelay, baseDelay · 2^attempt))`.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    public var baseDelay: TimeInterval
    public var maxDelay: TimeInterval

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 20) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The pause before retry number `attempt` (0 = the first retry).
    public func delay(beforeRetry attempt: Int) -> TimeInterval {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(attempt, 30))))
        return Double.random(in: 0...max(0, ceiling))
    }
}

/// Where and how to reach S3.
public struct S3Configuration: Sendable, Equatable {
    public var region: String
    /// A custom endpoint (S3-compatible store, local server); nil for AWS.
    public var endpoint: URL?
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key`. Always on for custom endpoints.
    public var pathStyle: Bool
    /// Files larger than this go up in parts.
    public var multipartThreshold: Int64
    /// Preferred part size (at least 5 MiB); doubled until the file fits in 10,000 parts.
    public var partSize: Int64
    /// Parts uploaded at the same time.
    public var maxConcurrentParts: Int
    public var retry: RetryPolicy
    /// Seconds without progress before a request is abandoned (and retried).
    public var timeout: TimeInterval

    public static let minimumPartSize: Int64 = 5 * 1024 * 1024
    public static let maximumPartSize: Int64 = 5 * 1024 * 1024 * 1024
    public static let maximumParts = 10_000

    public init(
        region: String = "us-east-1", endpoint: URL? = nil, pathStyle: Bool? = nil,
        multipartThreshold: Int64 = 16 * 1024 * 1024, partSize: Int64 = 8 * 1024 * 1024,
        maxConcurrentParts: Int = 4, retry: RetryPolicy = RetryPolicy(), timeout: TimeInterval = 60
    ) {
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle ?? (endpoint != nil)
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, Self.minimumPartSize)
        self.maxConcurrentParts = max(1, maxConcurrentParts)
        self.retry = retry
        self.timeout = timeout
    }

    /// Region from `AWS_REGION`/`AWS_DEFAULT_REGION` (default us-east-1); endpoint from
    /// `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL` (path-style).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> S3Configuration
    {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        var endpoint: URL?
        if let text = value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL") {
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw S3Error(.permanent, "S3 endpoint \(text) is not an http(s) URL")
            }
            endpoint = url
        }
        return S3Configuration(region: region, endpoint: endpoint)
    }

    /// The part size for an object of `size` bytes: the preferred size, doubled until ≤ 10,000 parts.
    public func partSize(forObjectOfSize size: Int64) -> Int64 {
        var part = partSize
        while (size + part - 1) / part > Int64(Self.maximumParts) { part *= 2 }
        return min(part, Self.maximumPartSize)
    }

    /// Scheme + authority, and the (plain) path, for `location` (or just its bucket when `key` is nil).
    func address(bucket: String, key: String?) -> (base: String, path: String) {
        let keyPath = key.map { "/" + $0 } ?? "/"
        if let endpoint {
            var base = "\(endpoint.scheme ?? "https")://\(endpoint.host!)"
            if let port = endpoint.port { base += ":\(port)" }
            let prefix = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
            return (base, "\(prefix)/\(bucket)\(key.map { "/" + $0 } ?? "")")
        }
        let awsHost = region.hasPrefix("cn-") ? "s3.\(region).amazonaws.com.cn" : "s3.\(region).amazonaws.com"
        // Dotted bucket names do not match the wildcard certificate: use path-style for them.
        if pathStyle || bucket.contains(".") {
            return ("https://\(awsHost)", "/\(bucket)\(key.map { "/" + $0 } ?? "")")
        }
        return ("https://\(bucket).\(awsHost)", keyPath)
    }
}
