import App
import ArgumentParser

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
        subcommands: [Serve.self],
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
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        let settings: Settings
        do {
            settings = try Bulwark.settings(configFile: config, flags: flags, environment: env)
        } catch let error as AppError {
            throw ValidationError(error.reason)
        }
        do {
            try await Bulwark.serve(settings)
        } catch let error as AppError {
            FileHandleShim.stderr("bulwark: \(error.reason)\n")
            throw ExitCode(1)
        }
    }
}

enum FileHandleShim {
    static func stderr(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.withUnsafeMutableBytes { p in _ = write(2, p.baseAddress, p.count) }
    }
}
