import Foundation

/// JSON-lines logs on stderr, one line per stage. Every line passes through `redact`, which removes the
/// secrets it was given (secret key, session token, task token, webhook secret) and URL query strings.
public final class JobLog: @unchecked Sendable {
    private let lock = NSLock()
    private let secrets: [String]
    private let write: @Sendable (String) -> Void

    /// `secrets` shorter than 4 characters are ignored (they would blank out ordinary words).
    public init(
        secrets: [String],
        write: @escaping @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    ) {
        self.secrets = secrets.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
        self.write = write
    }

    /// Secrets from the environment: AWS secret key and session token, the webhook secret, the task token.
    public static func secrets(in env: [String: String], taskToken: String?) -> [String] {
        ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OPTIMIZE_WEBHOOK_SECRET", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            .compactMap { env[$0] } + [taskToken].compactMap { $0 }
    }

    /// Removes every known secret and every URL query string from `text`.
    public func redact(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return Self.redactQueries(text)
    }

    /// `http(s)://host/path?query` → `http(s)://host/path?[redacted]` wherever a URL appears in `text`.
    static func redactQueries(_ text: String) -> String {
        guard text.contains("://"), text.contains("?") else { return text }
        var out = ""
        var inURL = false
        var skipping = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace || character == "\"" || character == "'" || character == ">" {
                inURL = false
                skipping = false
            } else if !inURL, text[index...].hasPrefix("http://") || text[index...].hasPrefix("https://") {
                inURL = true
            }
            if skipping {
                index = text.index(after: index)
                continue
            }
            if inURL, character == "?" {
                out += "?[redacted]"
                skipping = true
            } else {
                out.append(character)
            }
            index = text.index(after: index)
        }
        return out
    }

    /// One JSON line: `{"time", "level", "event", …fields}` with sorted keys.
    public func log(_ event: String, level: String = "info", _ fields: [String: any Sendable] = [:]) {
        var object: [String: Any] = fields.mapValues { $0 as Any }
        object["time"] = ISO8601DateFormatter().string(from: Date())
        object["level"] = level
        object["event"] = event
        let line = redact(jsonLine(object))
        lock.withLock { write(line) }
    }
}

/// A one-line JSON text with sorted keys and unescaped slashes.
func jsonLine(_ object: Any) -> String {
    guard JSONSerialization.isValidJSONObject(object),
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else {
        return "{}"
    }
    return String(decoding: data, as: UTF8.self)
}

/// Rounds seconds to milliseconds for logs.
func milliseconds(_ seconds: Double) -> Double {
    (seconds * 1000).rounded() / 1000
}
