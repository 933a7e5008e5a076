import App
import ThreatIntel
import ArgumentParser
import Foundation
import DNSWire
import Policy
import RPZ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@main
struct BulwarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulwark",
        abstract: "Bulwark: a protective DNS resolver.",
        discussion: """
            Every option has a config-file key and a BULWARK_* environment variable; command-line \
            flags win over the environment, which wins over the config file.
            """,
        version: Bulwark.version,
        subcommands: [Serve.self, PolicyCommand.self, IntelCommand.self, RPZCommand.self, CertCommand.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the resolver (UDP and TCP on each listen address) and the metrics endpoint.",
        discussion: """
            With no configuration, listens on 127.0.0.1:53 and [::1]:53 and forwards to the \
            nameservers of /etc/resolv.conf (never to itself). Metrics: http://127.0.0.1:8053/metrics.
            """
    )

    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Address to serve DNS on (UDP and TCP), ADDR:PORT or [V6]:PORT; repeatable. (BULWARK_LISTEN)")
    var listen: [String] = []

    @Option(name: .long, help: "Upstream resolver ADDR:PORT; repeatable. Default: nameservers of /etc/resolv.conf. (BULWARK_UPSTREAM)")
    var upstream: [String] = []

    @Option(name: .long, help: "Prometheus /metrics address, or 'off'. Default 127.0.0.1:8053. (BULWARK_METRICS)")
    var metrics: String?

    @Option(name: .long, help: "Event loops (threads); 0 = one per core. (BULWARK_THREADS)")
    var threads: Int?

    @Option(name: .long, help: "Client networks allowed to query (CIDR); repeatable. Default: loopback and private networks. (BULWARK_ACL_ALLOW)")
    var allow: [String] = []

    @Option(name: .long, help: "Data directory. Default ./bulwark-data. (BULWARK_DATA)")
    var data: String?

    @Option(name: .long, help: "Log format: text or json. (BULWARK_LOG_FORMAT)")
    var logFormat: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical. (BULWARK_LOG_LEVEL)")
    var logLevel: String?

    func run() async throws {
        var flags = RawConfig()
        if !listen.isEmpty { flags.listen = listen }
        if !upstream.isEmpty { flags.upstreams = upstream }
        flags.metrics = metrics
        flags.threads = threads
        if !allow.isEmpty { flags.allow = allow }
        flags.data = data
        flags.logFormat = logFormat
        flags.logLevel = logLevel
        let settings = try loadSettings(configFile: config, flags: flags)
        do {
            try await Bulwark.serve(settings)
        } catch let error as AppError {
            FileHandleShim.stderr("bulwark: \(error.reason)\n")
            throw ExitCode(1)
        }
    }
}

/// Environment, config file and flags merged and validated (errors as usage errors).
func loadSettings(configFile: String?, flags: RawConfig) throws -> Settings {
    var env: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    do {
        return try Bulwark.settings(configFile: configFile, flags: flags, environment: env)
    } catch let error as AppError {
        throw ValidationError(error.reason)
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Explain verdicts and change rules.",
        subcommands: [Check.self, Add.self, Remove.self, Reload.self, Status.self]
    )

    struct Common: ParsableArguments {
        @Option(name: .long, help: "YAML configuration file.")
        var config: String?
        @Option(name: .long, help: "Data directory. Default ./bulwark-data. (BULWARK_DATA)")
        var data: String?

        func settings() throws -> Settings {
            var flags = RawConfig()
            flags.data = data
            // Upstreams do not matter here; do not fail on an unusable resolv.conf.
            flags.upstreams = ["127.0.0.1:53"]
            flags.listen = ["127.0.0.2:53"]
            return try loadSettings(configFile: config, flags: flags)
        }

        /// The running server's policy interface: the metrics address of the configuration.
        func server(_ explicit: String?) throws -> String {
            if let explicit { return explicit }
            guard let m = try settings().metrics else { throw ValidationError("metrics are off in the configuration; give --server ADDR:PORT") }
            return m.ipAddress!.contains(":") ? "[\(m.ipAddress!)]:\(m.port!)" : "\(m.ipAddress!):\(m.port!)"
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the verdict for a name (or answer address) and why: rule, list, category, source, line.",
            discussion: "Builds the policy from the configured sources (files, and the last fetched copies of URL sources) unless --server or --snapshot is given.")
        @Argument(help: "Domain name or IP address.") var name: String
        @Option(name: .long, help: "Profile (default: policy.default-profile).") var profile: String?
        @Flag(name: .long, help: "Print JSON.") var json = false
        @Option(name: .long, help: "Ask a running server instead (its metrics ADDR:PORT).") var server: String?
        @Flag(name: .long, help: "Use the last persisted snapshot of the data directory.") var snapshot = false
        @OptionGroup var common: Common

        func run() async throws {
            let x: Explanation
            if let server {
                var q = ["name": name]
                if let profile { q["profile"] = profile }
                let (status, body) = try await PolicyCLI.request(server: server, method: "GET", path: "/v1/policy/check", query: q)
                guard status == 200, let value = try? JSONDecoder().decode(Explanation.self, from: Data(body.utf8)) else {
                    FileHandleShim.stderr("bulwark: \(body)\n")
                    throw ExitCode(1)
                }
                x = value
            } else {
                do {
                    x = try PolicyCLI.checkLocally(name, profile: profile, settings: try common.settings(), useSnapshot: snapshot)
                } catch let e as AppError {
                    throw ValidationError(e.reason)
                }
            }
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try e.encode(x), as: UTF8.self))
            } else {
                print(x.text)
            }
        }
    }

    /// Sends one change to a running server and prints its answer.
    static func send(_ server: String, _ method: String, _ path: String, _ query: [String: String]) async throws {
        let (status, body) = try await PolicyCLI.request(server: server, method: method, path: path, query: query)
        print(body)
        if status >= 300 { throw ExitCode(1) }
    }

    struct RuleOptions: ParsableArguments {
        @Argument(help: "Domain name, or an address prefix (CIDR) for answer-address rules.") var rule: String
        @Option(name: .long, help: "List (default: local-block, or local-allow with --action allow).") var list: String?
        @Option(name: .long, help: "Server's metrics ADDR:PORT (default: from the configuration).") var server: String?
        var query: [String: String] {
            var q: [String: String] = [:]
            if rule.contains("/") || IPAddress(rule) != nil { q["prefix"] = rule } else { q["name"] = rule }
            if let list { q["list"] = list }
            return q
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a rule to a running server (applied through the delta at once).")
        @OptionGroup var rule: RuleOptions
        @Option(name: .long, help: "block, nodata, drop or allow.") var action: String = "block"
        @Option(name: .long, help: "subtree (the name and below), exact, or below.") var match: String = "subtree"
        @OptionGroup var common: Common
        func run() async throws {
            var q = rule.query
            q["action"] = action
            if q["name"] != nil { q["match"] = match }
            try await PolicyCommand.send(try common.server(rule.server), "POST", "/v1/policy/rules", q)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule from a running server.")
        @OptionGroup var rule: RuleOptions
        @OptionGroup var common: Common
        func run() async throws {
            try await PolicyCommand.send(try common.server(rule.server), "DELETE", "/v1/policy/rules", rule.query)
        }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reload every source of a running server (like SIGHUP).")
        @Option(name: .long, help: "Server's metrics ADDR:PORT.") var server: String?
        @OptionGroup var common: Common
        func run() async throws {
            try await PolicyCommand.send(try common.server(server), "POST", "/v1/policy/reload", [:])
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a running server's policy: generation, counts, sources and their errors.")
        @Option(name: .long, help: "Server's metrics ADDR:PORT.") var server: String?
        @OptionGroup var common: Common
        func run() async throws {
            try await PolicyCommand.send(try common.server(server), "GET", "/v1/policy/status", [:])
        }
    }
}

struct IntelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intel",
        abstract: "Threat intelligence: explain, add, withdraw, sources, keys.",
        subcommands: [Explain.self, Add.self, Withdraw.self, Sources.self, Key.self]
    )

    struct Remote: ParsableArguments {
        @Option(name: .long, help: "Running server's control address ADDR:PORT (default: metrics address of the configuration).")
        var server: String?
        @Option(name: .long, help: "API key (default: BULWARK_INTEL_KEY).") var key: String?
        @OptionGroup var common: PolicyCommand.Common

        func apiKey() throws -> String {
            if let key { return key }
            if let k = ProcessInfo.processInfo.environment["BULWARK_INTEL_KEY"], !k.isEmpty { return k }
            throw ValidationError("give --key or set BULWARK_INTEL_KEY")
        }

        func call(_ method: String, _ path: String, query: [String: String] = [:], body: Data? = nil) async throws {
            let (status, text) = try await IntelCLI.call(
                server: try common.server(server), key: try apiKey(), method: method, path: path, query: query, body: body)
            print(text)
            if status >= 300 { throw ExitCode(1) }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every indicator that matches a name or address: source, organisation, event, tags, TLP, state and why.",
            discussion: "Reads the data directory's database unless --server is given.")
        @Argument(help: "Domain name, URL or IP address.") var name: String
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var remote: Remote

        func run() async throws {
            let x: IntelExplanation
            if remote.server != nil {
                let (status, body) = try await IntelCLI.call(
                    server: try remote.common.server(remote.server), key: try remote.apiKey(), method: "GET", path: "/api/v1/explain", query: ["name": name])
                guard status == 200, let v = try? JSONDecoder().decode(IntelExplanation.self, from: Data(body.utf8)) else {
                    FileHandleShim.stderr("bulwark: \(body)\n")
                    throw ExitCode(1)
                }
                x = v
            } else {
                do {
                    x = try await IntelCLI.explainLocally(name, settings: try remote.common.settings())
                } catch let e as AppError {
                    throw ValidationError(e.reason)
                }
            }
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try e.encode(x), as: UTF8.self))
                return
            }
            print("\(x.name): \(x.blocked ? "blocked by threat intel" : "no active indicator")")
            for i in x.indicators {
                var line = "  #\(i.id) \(i.value) (\(i.kind), \(i.matches ?? "")) \(i.state)"
                if let r = i.reason { line += ": \(r)" }
                print(line)
                print("    categories \(i.categories.joined(separator: ",")); source \(i.source); org \(i.org ?? "-"); TLP \(i.tlp ?? "-")")
                if let e = i.event_uuid { print("    event \(e) attribute \(i.attribute_uuid ?? "-") (\(i.misp_type ?? "?") \(i.original_value ?? ""))") }
                if !i.tags.isEmpty { print("    tags \(i.tags.joined(separator: ", "))") }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an indicator to a running server (enforced at once).")
        @Argument(help: "Domain (and its subdomains), IP address or prefix.") var value: String
        @Option(name: .long, help: "Category (malware, phishing, botnet-c2, scam, …).") var category: String = "custom"
        @Option(name: .long, help: "Comment.") var comment: String?
        @OptionGroup var remote: Remote
        func run() async throws {
            var o: [String: String] = ["value": value, "category": category]
            if let comment { o["comment"] = comment }
            try await remote.call("POST", "/api/v1/indicators", body: try JSONEncoder().encode(o))
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw an indicator of a running server by id.")
        @Argument(help: "Indicator id.") var id: Int64
        @OptionGroup var remote: Remote
        func run() async throws { try await remote.call("DELETE", "/api/v1/indicators/\(id)") }
    }

    struct Sources: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a running server's intel sources: last run, counts, errors.")
        @OptionGroup var remote: Remote
        func run() async throws { try await remote.call("GET", "/api/v1/sources") }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a new API key and print the configuration lines (with its SHA-256) that install it.")
        @Option(name: .long, help: "Key name.") var name: String = "cert"
        @Option(name: .long, help: "Organisation it acts for.") var org: String
        @Option(name: .long, help: "admin, sync or reader.") var role: String = "sync"
        func run() async throws {
            guard ["admin", "sync", "reader"].contains(role) else { throw ValidationError("role: admin, sync or reader") }
            print(IntelCLI.newKey(name: name, org: org, role: role), terminator: "")
        }
    }
}

enum FileHandleShim {
    static func stderr(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.withUnsafeMutableBytes { p in _ = write(2, p.baseAddress, p.count) }
    }
}

struct RPZCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpz",
        abstract: "RPZ distribution: fetch a zone from a primary to a file, show which secondaries hold which serial.",
        subcommands: [Fetch.self, Status.self]
    )

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Transfer a zone (AXFR) from a primary and write it as a zone file (write, then rename).",
            discussion: """
                For resolvers that read RPZ from files only (Knot Resolver). With --interval, keeps \
                following: checks the SOA serial every interval and transfers again when it grows.
                """
        )
        @Option(name: .long, help: "The primary, ADDR:PORT.") var primary: String
        @Option(name: .long, help: "Zone name, e.g. phishing.rpz.bulwark.") var zone: String
        @Option(name: .long, help: "Output file.") var output: String
        @Option(name: .long, help: "TSIG key: [algorithm:]name:base64secret (as dig -y).") var key: String?
        @Option(name: .long, help: "Seconds between SOA checks; 0 = fetch once.") var interval: Double = 0

        func run() async throws {
            guard let address = try? Settings.parseAddress(primary, what: "primary") else { throw ValidationError("--primary: ADDR:PORT expected") }
            guard let name = try? Name(zone.hasSuffix(".") ? zone : zone + ".") else { throw ValidationError("--zone: not a domain name") }
            var tsig: TSIGKey? = nil
            if let key {
                guard let k = TSIGKey(spec: key) else { throw ValidationError("--key: [algorithm:]name:base64secret expected") }
                tsig = k
            }
            try await RPZFetch.run(address: address, zone: name, key: tsig, output: output, interval: interval)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a running server's RPZ zones: serials, journal, and per secondary the serial it last fetched and when.")
        @Option(name: .long, help: "Server's metrics ADDR:PORT.") var server: String?
        @OptionGroup var common: PolicyCommand.Common
        func run() async throws {
            try await PolicyCommand.send(try common.server(server), "GET", "/v1/rpz/status", [:])
        }
    }
}

struct CertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert", abstract: "Certificates for DoT and DoH.", subcommands: [Dev.self])

    struct Dev: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a throwaway CA and a server certificate signed by it (P-256, PEM) for local testing.",
            discussion: """
                Writes ca.pem, ca.key, server.pem (the chain) and server.key into --out. Point \
                dot.certificate/doh.certificate at server.pem and dot.private-key at server.key, \
                and clients at ca.pem (e.g. kdig +tls-ca=ca.pem). Not for production.
                """)
        @Option(name: .long, help: "Directory to write into.") var out: String = "./bulwark-data/tls"
        @Option(name: .long, help: "Host name in the certificate; repeatable. Default: localhost.") var name: [String] = []
        @Option(name: .long, help: "IP address in the certificate; repeatable. Default: 127.0.0.1 and ::1.") var ip: [String] = []
        @Option(name: .long, help: "Days of validity.") var days: Int = 90

        func run() async throws {
            let names = name.isEmpty && ip.isEmpty ? ["localhost"] : name
            let ips = name.isEmpty && ip.isEmpty ? ["127.0.0.1", "::1"] : ip
            guard (1...3650).contains(days) else { throw ValidationError("--days: 1 to 3650") }
            let w = try CertDev.write(to: out, names: names, addresses: ips, days: days)
            print("CA:          \(w.caCertificate)\ncertificate: \(w.certificate)\nprivate key: \(w.privateKey)")
        }
    }
}
