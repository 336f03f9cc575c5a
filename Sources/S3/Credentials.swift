import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// AWS credentials. `description` never shows the secret or the token.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-lived keys.
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    public var description: String {
        "AWSCredentials(\(accessKeyID), secret redacted\(sessionToken == nil ? "" : ", token redacted"))"
    }
}

/// A source of credentials: the seam between the S3 client and where keys come from.
public protocol CredentialProvider: Sendable {
    /// Short name for messages (`environment`, `web identity`, …).
    var name: String { get }
    /// Fetches fresh credentials; throws `S3Error` of kind `.credentials` when the source cannot answer.
    func fetch() async throws -> AWSCredentials
}

/// Fixed credentials (from the environment or given explicitly).
public struct StaticCredentials: CredentialProvider {
    public let credentials: AWSCredentials
    public let name: String

    public init(_ credentials: AWSCredentials, name: String = "static") {
        self.credentials = credentials
        self.name = name
    }

    public func fetch() async throws -> AWSCredentials { credentials }
}

/// IRSA: exchanges the projected service-account token for role credentials via STS `AssumeRoleWithWebIdentity`.
/// The token file is re-read on every fetch (the kubelet rotates it).
public struct WebIdentityCredentials: CredentialProvider {
    public let tokenFile: String
    public let roleARN: String
    public let sessionName: String
    public let stsEndpoint: URL
    public var name: String { "web identity" }

    public init(tokenFile: String, roleARN: String, sessionName: String, stsEndpoint: URL) {
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.stsEndpoint = stsEndpoint
    }

    public func fetch() async throws -> AWSCredentials {
        let token: String
        do {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines)
        } catch {
            throw S3Error(.credentials, "web identity token file \(tokenFile) cannot be read")
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName), ("WebIdentityToken", token)
        ]
        .map { "\($0.0)=\(SigV4Signer.uriEncode($0.1))" }.joined(separator: "&")
        var request = URLRequest(url: stsEndpoint, timeoutInterval: 15)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded; charset=utf-8", forHTTPHeaderField: "Content-Type")
        let (status, body) = try await credentialRequest(request, body: Data(form.utf8), source: name)
        guard status == 200 else {
            let code = XML.first("Code", in: body) ?? "HTTP \(status)"
            throw S3Error(.credentials, "STS AssumeRoleWithWebIdentity for \(roleARN) failed: \(code)")
        }
        guard let key = XML.first("AccessKeyId", in: body), let secret = XML.first("SecretAccessKey", in: body),
            let session = XML.first("SessionToken", in: body)
        else {
            throw S3Error(.credentials, "STS AssumeRoleWithWebIdentity for \(roleARN) returned no credentials")
        }
        return AWSCredentials(
            accessKeyID: key, secretAccessKey: secret, sessionToken: session,
            expiration: XML.first("Expiration", in: body).flatMap(parseISO8601))
    }
}

/// ECS / EKS Pod Identity container credentials: an HTTP endpoint on a link-local or loopback address
/// answering `{"AccessKeyId","SecretAccessKey","Token","Expiration"}`.
public struct ContainerCredentials: CredentialProvider {
    public let endpoint: URL
    /// A fixed `Authorization` value, or a file holding it (re-read on every fetch).
    public let authorizationToken: String?
    public let authorizationTokenFile: String?
    public var name: String { "container" }

    /// Fails when `endpoint` is not one of the hosts AWS SDKs accept for container credentials.
    public init(endpoint: URL, authorizationToken: String? = nil, authorizationTokenFile: String? = nil) throws {
        let host = (endpoint.host ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        let allowed =
            host == "localhost" || host == "::1" || host.hasPrefix("127.")
            || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(host)
        guard allowed else {
            throw S3Error(.credentials, "container credentials host \(host) is not loopback or an ECS/EKS address")
        }
        self.endpoint = endpoint
        self.authorizationToken = authorizationToken
        self.authorizationTokenFile = authorizationTokenFile
    }

    public func fetch() async throws -> AWSCredentials {
        var request = URLRequest(url: endpoint, timeoutInterval: 5)
        if let file = authorizationTokenFile {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw S3Error(.credentials, "container authorization token file \(file) cannot be read")
            }
            request.setValue(token.trimmingCharacters(in: .whitespacesAndNewlines), forHTTPHeaderField: "Authorization")
        } else if let token = authorizationToken {
            request.setValue(token, forHTTPHeaderField: "Authorization")
        }
        let (status, body) = try await credentialRequest(request, body: nil, source: name)
        guard status == 200 else {
            throw S3Error(.credentials, "container credentials endpoint answered HTTP \(status)")
        }
        return try parseCredentialJSON(body, source: name)
    }
}

/// EC2 instance metadata (IMDSv2: a session token first, then the role's credentials).
public struct InstanceMetadataCredentials: CredentialProvider {
    public let endpoint: URL
    public var name: String { "instance metadata" }

    public init(endpoint: URL = URL(string: "http://169.254.169.254")!) {
        self.endpoint = endpoint
    }

    public func fetch() async throws -> AWSCredentials {
        var tokenRequest = URLRequest(url: endpoint.appendingPathComponent("latest/api/token"), timeoutInterval: 2)
        tokenRequest.httpMethod = "PUT"
        tokenRequest.setValue("21600", forHTTPHeaderField: "X-aws-ec2-metadata-token-ttl-seconds")
        let (tokenStatus, tokenBody) = try await credentialRequest(tokenRequest, body: nil, source: name)
        guard tokenStatus == 200 else {
            throw S3Error(.credentials, "IMDSv2 token request answered HTTP \(tokenStatus)")
        }
        let token = String(decoding: tokenBody, as: UTF8.self)

        func get(_ path: String) async throws -> Data {
            var request = URLRequest(url: endpoint.appendingPathComponent(path), timeoutInterval: 2)
            request.setValue(token, forHTTPHeaderField: "X-aws-ec2-metadata-token")
            let (status, body) = try await credentialRequest(request, body: nil, source: name)
            guard status == 200 else { throw S3Error(.credentials, "IMDS \(path) answered HTTP \(status)") }
            return body
        }
        let roles = String(decoding: try await get("latest/meta-data/iam/security-credentials/"), as: UTF8.self)
        guard let role = roles.split(whereSeparator: \.isNewline).first else {
            throw S3Error(.credentials, "IMDS lists no instance role")
        }
        return try parseCredentialJSON(try await get("latest/meta-data/iam/security-credentials/\(role)"), source: name)
    }
}

/// The standard chain: environment → web identity → container → IMDSv2; the first configured source wins.
public func defaultCredentialProvider(environment env: [String: String] = ProcessInfo.processInfo.environment)
    throws -> any CredentialProvider
{
    func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
    if let key = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
        return StaticCredentials(
            AWSCredentials(
                accessKeyID: key, secretAccessKey: secret,
                sessionToken: value("AWS_SESSION_TOKEN")), name: "environment")
    }
    if let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = value("AWS_ROLE_ARN") {
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        let endpoint =
            value("AWS_ENDPOINT_URL_STS") ?? value("AWS_ENDPOINT_URL") ?? "https://sts.\(region).amazonaws.com"
        guard let url = URL(string: endpoint) else {
            throw S3Error(.credentials, "STS endpoint \(endpoint) is not a URL")
        }
        return WebIdentityCredentials(
            tokenFile: tokenFile, roleARN: role,
            sessionName: value("AWS_ROLE_SESSION_NAME") ?? "optimize-\(UInt32.random(in: 0...UInt32.max))",
            stsEndpoint: url)
    }
    let containerURI =
        value("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        ?? value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").map { "http://169.254.170.2\($0)" }
    if let containerURI {
        guard let url = URL(string: containerURI) else {
            throw S3Error(.credentials, "container credentials URI is not a URL")
        }
        return try ContainerCredentials(
            endpoint: url, authorizationToken: value("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            authorizationTokenFile: value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
    }
    if value("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" {
        throw S3Error(
            .credentials,
            "no AWS credentials: none in the environment, no web identity, no container endpoint, IMDS disabled")
    }
    let imds = value("AWS_EC2_METADATA_SERVICE_ENDPOINT").flatMap(URL.init(string:))
    return InstanceMetadataCredentials(endpoint: imds ?? URL(string: "http://169.254.169.254")!)
}

/// Caches a provider's credentials and refreshes them five minutes before they expire.
public actor CredentialCache {
    public let provider: any CredentialProvider
    private var cached: AWSCredentials?
    private var refreshing: Task<AWSCredentials, Error>?
    private let margin: TimeInterval = 300

    public init(provider: any CredentialProvider) {
        self.provider = provider
    }

    /// Valid credentials, fetched once for all concurrent callers.
    public func current() async throws -> AWSCredentials {
        if let cached, cached.expiration.map({ $0.timeIntervalSinceNow > margin }) ?? true { return cached }
        if let refreshing { return try await refreshing.value }
        let provider = self.provider
        let task = Task { try await provider.fetch() }
        refreshing = task
        defer { refreshing = nil }
        let fresh = try await task.value
        cached = fresh
        return fresh
    }

    /// Forgets `stale` (after `ExpiredToken`) so the next `current()` fetches again.
    public func invalidate(_ stale: AWSCredentials) {
        if cached == stale { cached = nil }
    }
}

private func credentialRequest(_ request: URLRequest, body: Data?, source: String) async throws -> (Int, Data) {
    do {
        let data: Data
        let response: URLResponse
        if let body {
            (data, response) = try await URLSession.shared.upload(for: request, from: body)
        } else {
            (data, response) = try await URLSession.shared.data(for: request)
        }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    } catch {
        throw S3Error(
            .credentials,
            "\(source) credentials: cannot reach \(request.url?.host ?? "endpoint"): \(error.localizedDescription)")
    }
}

private func parseCredentialJSON(_ data: Data, source: String) throws -> AWSCredentials {
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String
    else {
        throw S3Error(.credentials, "\(source) credentials: the answer has no AccessKeyId/SecretAccessKey")
    }
    return AWSCredentials(
        accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"] as? String,
        expiration: (object["Expiration"] as? String).flatMap(parseISO8601))
}

func parseISO8601(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}
