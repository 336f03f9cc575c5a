import Foundation

/// Why an S3 operation failed. Messages name the object and the S3 error code, never a secret or a signature.
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Worth retrying later (throttling, 5xx, broken connections): retries were exhausted.
        case transient
        /// Retrying will not help (access denied, bad signature, no such key or bucket, malformed request).
        case permanent
        /// The object is larger than the caller allowed.
        case tooLarge
        /// No credentials could be found or refreshed.
        case credentials
    }

    public var kind: Kind
    /// `s3://bucket/key` when the error is about an object.
    public var location: String?
    /// HTTP status, when the server answered.
    public var status: Int?
    /// S3's error code (`NoSuchKey`, `SlowDown`, …), when it sent one.
    public var code: String?
    public var message: String

    public init(_ kind: Kind, location: String? = nil, status: Int? = nil, code: String? = nil, _ message: String) {
        self.kind = kind
        self.location = location
        self.status = status
        self.code = code
        self.message = message
    }

    public var isTransient: Bool { kind == .transient }

    /// One line: `s3://bucket/key: message (HTTP 404 NoSuchKey)`.
    public var description: String {
        var text = location.map { "\($0): \(message)" } ?? message
        let detail = [status.map { "HTTP \($0)" }, code].compactMap { $0 }.joined(separator: " ")
        if !detail.isEmpty { text += " (\(detail))" }
        return text
    }

    /// S3 codes that are worth retrying (botocore standard mode plus S3's own).
    static let transientCodes: Set<String> = [
        "SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable", "BadDigest",
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "PriorRequestNotComplete",
        "EC2ThrottledException", "IDPCommunicationError"
    ]

    /// Classifies an error answer from S3.
    static func fromResponse(status: Int, code: String?, location: String?, operation: String) -> S3Error {
        let transient = [500, 502, 503, 504, 429].contains(status) || code.map(transientCodes.contains) ?? false
        let what: String
        switch code {
        case "NoSuchKey": what = "\(operation): no such key"
        case "NoSuchBucket": what = "\(operation): no such bucket"
        case "AccessDenied": what = "\(operation): access denied"
        case "SignatureDoesNotMatch": what = "\(operation): the signature does not match (wrong secret key?)"
        case "InvalidAccessKeyId": what = "\(operation): the access key id is unknown"
        case "ExpiredToken": what = "\(operation): the session token has expired"
        // HEAD answers have no body, hence no code.
        case nil where status == 403: what = "\(operation): forbidden (access denied or wrong credentials)"
        case nil where status == 404: what = "\(operation): not found"
        default: what = "\(operation) failed"
        }
        return S3Error(transient ? .transient : .permanent, location: location, status: status, code: code, what)
    }
}

/// Just enough XML for S3 and STS answers: text of simple elements, entities decoded.
enum XML {
    /// The text of every `<tag>…</tag>` in document order.
    static func all(_ tag: String, in data: Data) -> [String] {
        all(tag, in: String(decoding: data, as: UTF8.self))
    }

    static func all(_ tag: String, in text: String) -> [String] {
        var results: [String] = []
        var rest = text[...]
        let open = "<\(tag)>"
        let close = "</\(tag)>"
        while let start = rest.range(of: open), let end = rest.range(of: close, range: start.upperBound..<rest.endIndex)
        {
            results.append(decodeEntities(String(rest[start.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        return results
    }

    static func first(_ tag: String, in data: Data) -> String? { all(tag, in: data).first }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else {
                rest = rest[amp...]
                break
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number =
                    entity.hasPrefix("#x")
                    ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let scalar = number.flatMap(Unicode.Scalar.init) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "&\(entity);"
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
