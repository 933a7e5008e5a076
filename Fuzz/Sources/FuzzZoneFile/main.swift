// Zone-file text (RFC 1035 §5.1) through `ZoneFileReader`: the lexer ($ORIGIN, $TTL, quotes,
// escapes, parentheses, comments) and the presentation parser of every RDATA type.
//
// - Reading never traps; every entry is a record or an error with a line inside the text.
// - Every record prints as text that parses back to it (RDATA and whole record), and encodes
//   to wire form that parses back to it (parse -> build -> re-parse), when it fits in a message.
import DNSWire
import FuzzSupport

let origin = try! Name("example.test.")

func test(_ data: UnsafeRawBufferPointer) {
    let bytes = [UInt8](data)
    let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    var count = 0
    for entry in ZoneFileReader(bytes: bytes, fileName: "fuzz", origin: origin) {
        count += 1
        require(count <= bytes.count + 1, "more entries than bytes: the reader does not advance")
        switch entry {
        case .failure(let e):
            require(e.line >= 1 && e.line <= lines, "error on line \(e.line) of \(lines): \(e)")
            _ = e.description
        case .success(let r):
            require(r.line >= 1 && r.line <= lines, "record on line \(r.line) of \(lines)")
            check(r.record)
        }
    }
}

func check(_ rr: ResourceRecord) {
    require((try? Name(wire: rr.name.wire)) == rr.name, "owner \(rr.name) is not a valid name")
    let text = rr.rdata.description
    do {
        let back = try RData(presentation: text, type: rr.type)
        require(back == rr.rdata, "RDATA text round trip: \(rr.type) '\(text)' parsed as '\(back)'")
    } catch {
        violated("RDATA text does not parse back: \(rr.type) '\(text)': \(error)")
    }
    let line = rr.description
    do {
        let back = try ResourceRecord(presentation: line)
        require(back == rr, "record text round trip: '\(line)' parsed as '\(back)'")
    } catch {
        violated("record text does not parse back: '\(line)': \(error)")
    }
    guard let wire = try? Message(answers: [rr]).encode() else { return }
    do {
        let m = try Message(parsing: wire)
        if m.header.truncated { return }  // did not fit in 65535 bytes
        require(m.answers == [rr], "zone record -> wire -> parse differs: \(rr) vs \(m.answers)")
    } catch {
        violated("the wire form of a zone record does not parse: \(rr): \(error)\nwire: \(hex(wire))")
    }
}

fuzzMain(test)
