import Foundation
import Testing

@testable import S3

/// The aws-c-auth SigV4 suite: every case, header and query signing, byte for byte.
struct SigV4VectorTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sharedSuite = repo.deletingLastPathComponent().appendingPathComponent("shared/vectors/aws-sigv4/v4")
    static let bundledSuite = repo.appendingPathComponent("Tests/S3Tests/Vectors")

    static func cases(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("request.txt").path) }
    }

    @Test func bundledVectors() throws {
        let cases = Self.cases(in: Self.bundledSuite)
        #expect(cases.count == 4)
        for folder in cases { try check(folder) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: sharedSuite.path), "shared vectors absent"))
    func fullSuite() throws {
        let cases = Self.cases(in: Self.sharedSuite)
        #expect(cases.count == 38)
        for folder in cases { try check(folder) }
    }

    @Test func getVanillaSignature() throws {
        let request = SigningRequest(method: "GET", path: "/", headers: [HTTPField("Host", "example.amazonaws.com")])
        let signer = SigV4Signer(service: "service", region: "us-east-1", normalizePath: true)
        let result = signer.signHeaders(
            request,
            credentials: AWSCredentials(
                accessKeyID: "AKIDEXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            date: Date(timeIntervalSince1970: 1_440_938_160), payloadHash: SigV4Signer.emptyPayloadHash,
            sendContentSHA256: false)
        #expect(result.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// A parsed request.txt: the raw text pieces (to rebuild the signed request) and what the signer sees.
    struct RawRequest {
        var method: String
        var target: String
        var version: String
        var headerLines: [String]
        var body: Data
        var signing: SigningRequest
    }

    func parse(_ text: Data) throws -> RawRequest {
        let (head, body): (String, Data)
        if let split = text.firstRange(of: Data("\n\n".utf8)) {
            (head, body) = (String(decoding: text[..<split.lowerBound], as: UTF8.self), Data(text[split.upperBound...]))
        } else {
            (head, body) = (String(decoding: text, as: UTF8.self), Data())
        }
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let requestLine = lines.removeFirst()
        let firstSpace = try #require(requestLine.firstIndex(of: " "))
        let lastSpace = try #require(requestLine.lastIndex(of: " "))
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        var headers: [HTTPField] = []
        for line in lines {
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].value += "\n" + line  // obsolete line folding
            } else {
                let colon = try #require(line.firstIndex(of: ":"))
                headers.append(HTTPField(String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let path = String(target.prefix { $0 != "?" })
        var query: [HTTPField] = []
        if let mark = target.firstIndex(of: "?") {
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append(
                    HTTPField(
                        String(parts[0]).removingPercentEncoding ?? String(parts[0]),
                        parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""))
            }
        }
        return RawRequest(
            method: method, target: target, version: String(requestLine[requestLine.index(after: lastSpace)...]),
            headerLines: lines, body: body,
            signing: SigningRequest(method: method, path: path, query: query, headers: headers))
    }

    func check(_ folder: URL) throws {
        let name = folder.lastPathComponent
        func read(_ file: String) throws -> String {
            String(decoding: try Data(contentsOf: folder.appendingPathComponent(file)), as: UTF8.self)
        }
        let context = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("context.json")))
                as? [String: Any])
        let keys = try #require(context["credentials"] as? [String: String])
        // post-sts-header-after: the token is added after signing (a legacy STS quirk); S3 must sign it.
        let omitToken = context["omit_session_token"] as? Bool ?? false
        let credentials = AWSCredentials(
            accessKeyID: keys["access_key_id"]!, secretAccessKey: keys["secret_access_key"]!,
            sessionToken: omitToken ? nil : keys["token"])
        let date = try #require(ISO8601DateFormatter().date(from: context["timestamp"] as! String))
        let signer = SigV4Signer(
            service: context["service"] as! String, region: context["region"] as! String,
            normalizePath: context["normalize"] as! Bool)
        let raw = try parse(try Data(contentsOf: folder.appendingPathComponent("request.txt")))
        let payloadHash = sha256Hex(raw.body)
        let bodyText = String(decoding: raw.body, as: UTF8.self)

        let header = signer.signHeaders(
            raw.signing, credentials: credentials, date: date, payloadHash: payloadHash,
            sendContentSHA256: (context["sign_body"] as? Bool) == true)
        #expect(
            header.canonicalRequest == (try read("header-canonical-request.txt")), "\(name) header canonical request")
        #expect(header.stringToSign == (try read("header-string-to-sign.txt")), "\(name) header string to sign")
        #expect(header.signature == (try read("header-signature.txt")), "\(name) header signature")
        if !omitToken {
            let lines =
                ["\(raw.method) \(raw.target) \(raw.version)"] + raw.headerLines
                + header.addedHeaders.map { "\($0.name):\($0.value)" }
            #expect(
                lines.joined(separator: "\n") + "\n\n" + bodyText == (try read("header-signed-request.txt")),
                "\(name) header signed request")
        }

        let expires = context["expiration_in_seconds"] as! Int
        let query = signer.signQuery(
            raw.signing, credentials: credentials, date: date, expires: expires, payloadHash: payloadHash)
        #expect(query.canonicalRequest == (try read("query-canonical-request.txt")), "\(name) query canonical request")
        #expect(query.stringToSign == (try read("query-string-to-sign.txt")), "\(name) query string to sign")
        #expect(query.signature == (try read("query-signature.txt")), "\(name) query signature")
        if !omitToken {
            let added = query.addedQuery.map { "\($0.name)=\(SigV4Signer.uriEncode($0.value))" }.joined(separator: "&")
            let target = raw.target + (raw.target.contains("?") ? "&" : "?") + added
            let lines = ["\(raw.method) \(target) \(raw.version)"] + raw.headerLines
            #expect(
                lines.joined(separator: "\n") + "\n\n" + bodyText == (try read("query-signed-request.txt")),
                "\(name) query signed request")
        }
    }
}
