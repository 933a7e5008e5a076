import ControlPlane
import Foundation
import Logging
import Storage
import ThreatIntel

/// `bulwark intel …`: explanations from the local database or a running server, and changes
/// sent to a running server's API with a key.
public enum IntelCLI {
    /// Explains `query` from the data directory's database (no server needed).
    public static func explainLocally(_ query: String, settings: Settings) async throws -> IntelExplanation {
        guard FileManager.default.fileExists(atPath: settings.intel.databasePath) else {
            throw AppError(.config, "no intel database at \(settings.intel.databasePath) (give --data, or --server to ask a running server)")
        }
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: settings.intel.databasePath)
        } catch {
            throw AppError(.startup, "intel database \(settings.intel.databasePath): \(error)")
        }
        do {
            let hub = try IntelHub(settings: settings.intel, store: store, logger: Logger(label: "bulwark.cli"))
            return try await hub.explain(query)
        } catch {
            throw AppError(.config, error.reason)
        }
    }

    /// Calls the API of a running server with `key`.
    public static func call(server: String, key: String, method: String, path: String, query: [String: String] = [:], body: Data? = nil) async throws
        -> (Int, String)
    {
        try await PolicyCLI.request(server: server, method: method, path: path, query: query, headers: [("Authorization", key)], body: body)
    }

    /// A new API key and the config lines that install it.
    public static func newKey(name: String, org: String, role: String) -> String {
        let key = APIKeys.generate()
        return """
            key: \(key)   (shown once; only its hash is needed below)
            intel:
              keys:
                - name: \(name)
                  org: \(org)
                  role: \(role)
                  sha256: \(APIKeys.hash(key))

            """
    }
}
