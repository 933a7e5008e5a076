import Foundation
import Testing

@testable import ThreatIntel

/// Test data shipped in `Tests/ThreatIntelTests/Data` (copied into the bundle).
enum NormalizeFixtures {
    static func url(_ name: String) throws -> URL {
        if let u = Bundle.module.url(forResource: "Data/\(name)", withExtension: nil) { return u }
        let base = try #require(Bundle.module.resourceURL)
        return base.appendingPathComponent("Data").appendingPathComponent(name)
    }

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: url(name))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try data(name), as: UTF8.self)
    }

    static let systemPSLPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// The Debian public suffix list when installed.
    static let systemPSL: PublicSuffixList? = PublicSuffixList.load(path: systemPSLPath)

    /// A small list holding every rule the tests rely on (the official test vectors' rules).
    static let embeddedPSLText = """
        // ===BEGIN ICANN DOMAINS===
        com
        ac
        uk
        co.uk
        gov.uk
        // jp
        jp
        ac.jp
        kyoto.jp
        ide.kyoto.jp
        *.kobe.jp
        !city.kobe.jp
        // ck
        *.ck
        !www.ck
        // mm
        *.mm
        // us
        us
        ak.us
        k12.ak.us
        // cn
        cn
        com.cn
        公司.cn
        top
        de
        tw
        com.tw
        // ===END ICANN DOMAINS===
        // ===BEGIN PRIVATE DOMAINS===
        github.io
        uk.com
        blogspot.com
        // ===END PRIVATE DOMAINS===
        """

    static let embeddedPSL = PublicSuffixList(text: embeddedPSLText)

    /// The real list when present, else the embedded one.
    static var psl: PublicSuffixList { systemPSL ?? embeddedPSL }
}

extension Result {
    var value: Success? {
        if case .success(let v) = self { return v }
        return nil
    }
    var error: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
