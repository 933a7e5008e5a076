import Foundation

@testable import Storage

/// A fixed instant, so that dates round-trip exactly through epoch seconds.
let t0 = Date(timeIntervalSince1970: 1_700_000_000)

/// A store in a temporary directory, with one source.
func makeStore(source name: String = "misp-test") async throws -> (SQLiteStore, SourceRecord) {
    let store = try SQLiteStore.inMemory()
    let source = try await store.sources.ensure(name: name, type: "misp", url: "https://misp.example", orgID: nil)
    return (store, source)
}

func indicator(
    _ value: String, source: SourceRecord, ref: String = "", kind: IndicatorKind = .domain, categories: [String] = ["malware"],
    state: IndicatorState = .active, validUntil: Date? = nil
) -> IndicatorRecord {
    IndicatorRecord(
        sourceID: source.id!, ref: ref, value: value, kind: kind, categories: categories, validUntil: validUntil, state: state,
        createdAt: t0, updatedAt: t0
    )
}

/// A directory removed at the end of the test.
final class TemporaryDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("storage-tests-\(UUID().uuidString.lowercased())")
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ components: String...) -> String {
        components.reduce(url) { $0.appendingPathComponent($1) }.path
    }
}
