import CFuzzerDriver
import Foundation

/// The harness of the running fuzzer: libFuzzer calls it through a C function pointer, which
/// cannot capture, so it is kept here. Set once, before libFuzzer starts (single-threaded).
nonisolated(unsafe) private var harness: ((UnsafeRawBufferPointer) -> Void)?
/// The input being run, for `violated` to print.
nonisolated(unsafe) private var current = UnsafeRawBufferPointer(start: nil, count: 0)

/// Runs libFuzzer over `test` with the process's arguments (corpus directories, `-flags`) and
/// exits with libFuzzer's status. Call it from the target's main.swift.
///
/// SwiftPM compiles an executable's main.swift into `<Module>_main` and links `main` to it, so
/// libFuzzer's own `main` is never used: `LLVMFuzzerRunDriver` is the documented way for a
/// program with its own main to hand over to libFuzzer.
///
/// `FUZZ_SELFTEST_CRASH=1` makes the first input fail, to check the crash plumbing of a runner.
public func fuzzMain(_ test: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    harness = test
    if ProcessInfo.processInfo.environment["FUZZ_SELFTEST_CRASH"] != nil {
        harness = { _ in violated("FUZZ_SELFTEST_CRASH is set: failing on purpose") }
    }
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        current = UnsafeRawBufferPointer(start: data, count: size)
        harness!(current)
        return 0
    }
    exit(status)
}

/// A property failure: prints what was violated and aborts, so libFuzzer reports a crash and
/// saves the input.
public func violated(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    var text = "\n=== PROPERTY VIOLATED at \(file):\(line)\n\(message)\n"
    if current.count <= 4096 { text += "input (\(current.count) bytes, hex): \(hex(current))\n" }
    FileHandle.standardError.write(Data(text.utf8))
    abort()
}

nonisolated(unsafe) private var noted = Set<String>()

/// A finding that is worth reporting but not worth stopping the run for (a documented leniency,
/// a known gap): printed once per `key` as `=== NOTE [key]` with the input, and fuzzing goes on.
/// `scripts/fuzz` counts the distinct notes of each target.
public func note(_ key: String, _ message: @autoclosure () -> String) {
    guard noted.insert(key).inserted else { return }
    var text = "\n=== NOTE [\(key)]\n\(message())\n"
    if current.count <= 4096 { text += "input (\(current.count) bytes, hex): \(hex(current))\n" }
    FileHandle.standardError.write(Data(text.utf8))
}

/// Checks a property of the code under test (see `violated`).
@inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { violated(message(), file: file, line: line) }
}

public func hex(_ bytes: some Sequence<UInt8>) -> String {
    var s = ""
    for b in bytes {
        let h = String(b, radix: 16)
        s += h.count == 1 ? "0" + h : h
    }
    return s
}
