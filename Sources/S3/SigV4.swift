import Crypto
import Foundation

/// One HTTP header or query parameter, kept in order (duplicates allowed).
public struct HTTPField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The parts of an HTTP request that AWS Signature Version 4 covers.
///
/// `path` and query names/values are plain (not percent-encoded); the signer encodes them once.
public struct SigningRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: [HTTPField]
    /// Headers to sign, `Host` included.
    public var headers: [HTTPField]

    public init(method: String, path: String, query: [HTTPField] = [], headers: [HTTPField]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }
}

/// The result of signing: the intermediate texts (for tests and debugging) and what to add to the request.
public struct SigningResult: Sendable, Equatable {
    public var canonicalRequest: String
    public var stringToSign: String
    public var signature: String
    /// Header signing: headers to append, in order, ending with `Authorization`.
    public var addedHeaders: [HTTPField]
    /// Query signing: parameters (plain values) to append, in order, ending with `X-Amz-Signature`.
    public var addedQuery: [HTTPField]
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for one service and region.
public struct SigV4Signer: Sendable {
    public var service: String
    public var region: String
    /// Remove `.`/`..` segments and repeated slashes before signing. Every service but S3 does; S3 must not.
    public var normalizePath: Bool

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = sha256Hex(Data())

    public init(service: String, region: String, normalizePath: Bool? = nil) {
        self.service = service
        self.region = region
        self.normalizePath = normalizePath ?? (service != "s3")
    }

    /// Signs with an `Authorization` header. `payloadHash` is the hex SHA-256 of the body or `UNSIGNED-PAYLOAD`;
    /// with `sendContentSHA256` it is also sent (and signed) as `x-amz-content-sha256`, as S3 requires.
    public func signHeaders(
        _ request: SigningRequest, credentials: AWSCredentials, date: Date,
        payloadHash: String, sendContentSHA256: Bool
    ) -> SigningResult {
        let stamp = Self.timestamp(date)
        var added: [HTTPField] = []
        if let token = credentials.sessionToken { added.append(HTTPField("X-Amz-Security-Token", token)) }
        added.append(HTTPField("X-Amz-Date", stamp))
        if sendContentSHA256 { added.append(HTTPField("x-amz-content-sha256", payloadHash)) }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers + added)
        let canonical = [
            request.method, canonicalPath(request.path), Self.canonicalQuery(request.query),
            canonicalHeaders, signedHeaders, payloadHash
        ].joined(separator: "\n")
        let scope = credentialScope(stamp)
        let toSign = Self.stringToSign(stamp: stamp, scope: scope, canonical: canonical)
        let signature = self.signature(toSign, secret: credentials.secretAccessKey, day: String(stamp.prefix(8)))
        added.append(
            HTTPField(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return SigningResult(
            canonicalRequest: canonical, stringToSign: toSign, signature: signature,
            addedHeaders: added, addedQuery: [])
    }

    /// Signs in the query string (a presigned request valid for `expires` seconds).
    public func signQuery(
        _ request: SigningRequest, credentials: AWSCredentials, date: Date,
        expires: Int, payloadHash: String
    ) -> SigningResult {
        let stamp = Self.timestamp(date)
        let scope = credentialScope(stamp)
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        var added = [
            HTTPField("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            HTTPField("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            HTTPField("X-Amz-Date", stamp),
            HTTPField("X-Amz-SignedHeaders", signedHeaders),
            HTTPField("X-Amz-Expires", String(expires))
        ]
        if let token = credentials.sessionToken { added.append(HTTPField("X-Amz-Security-Token", token)) }
        let canonical = [
            request.method, canonicalPath(request.path), Self.canonicalQuery(request.query + added),
            canonicalHeaders, signedHeaders, payloadHash
        ].joined(separator: "\n")
        let toSign = Self.stringToSign(stamp: stamp, scope: scope, canonical: canonical)
        let signature = self.signature(toSign, secret: credentials.secretAccessKey, day: String(stamp.prefix(8)))
        added.append(HTTPField("X-Amz-Signature", signature))
        return SigningResult(
            canonicalRequest: canonical, stringToSign: toSign, signature: signature,
            addedHeaders: [], addedQuery: added)
    }

    // MARK: - Canonical forms

    /// Percent-encodes everything but the RFC 3986 unreserved characters (and `/` when `keepSlash`), uppercase hex.
    public static func uriEncode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    func canonicalPath(_ path: String) -> String {
        var path = path.isEmpty ? "/" : path
        if normalizePath { path = Self.removeDotSegments(path) }
        return Self.uriEncode(path, keepSlash: true)
    }

    /// Drops empty and `.` segments and resolves `..`, keeping a trailing slash.
    static func removeDotSegments(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        var result = "/" + segments.joined(separator: "/")
        if path.hasSuffix("/"), result != "/" { result += "/" }
        return result
    }

    static func canonicalQuery(_ items: [HTTPField]) -> String {
        items.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lowercased names, sorted; values trimmed with inner whitespace runs collapsed; repeats joined by commas.
    static func canonicalHeaders(_ headers: [HTTPField]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            let value = header.value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0.isNewline })
                .joined(separator: " ")
            values[header.name.lowercased(), default: []].append(value)
        }
        let names = values.keys.sorted()
        let canonical = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    func credentialScope(_ stamp: String) -> String {
        "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    static func stringToSign(stamp: String, scope: String, canonical: String) -> String {
        "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n\(sha256Hex(Data(canonical.utf8)))"
    }

    func signature(_ stringToSign: String, secret: String, day: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}

/// Lowercase hex SHA-256 of `data`.
public func sha256Hex(_ data: Data) -> String {
    hex(SHA256.hash(data: data))
}

func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
