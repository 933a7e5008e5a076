import Foundation

/// Reads CSV feeds the way MISP's CSV feed settings describe them (MISP-RPZ.md §3).
///
/// - `columns`: the 1-based columns to read (MISP's `settings.csv.value`); empty reads all.
///   Columns beyond a record's end are ignored.
/// - `delimiter`: the field separator, `,` by default.
/// - Records whose first character is `#` are comments; blank records are skipped.
/// - Fields may be quoted with `"`; inside quotes `""` is a quote and delimiters and line
///   breaks are literal. A record spanning lines is reported at the line where it starts.
///
/// Each selected, non-empty cell (trimmed) is classified as one freetext token
/// (`FreetextParser.classify`).
public enum CSVFeedParser {
    /// Parses MISP's `settings.csv.value` text (`"2,3"`) into column numbers; entries that
    /// are not positive integers are dropped.
    public static func columns(fromSetting s: String) -> [Int] {
        s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
    }

    /// Classifies the selected cells of every record; each result carries its 1-based line.
    public static func parse(
        _ text: String, columns: [Int] = [], delimiter: Character = ",", psl: PublicSuffixList? = nil
    ) -> [(line: Int, result: Result<IntelValue, IntelRejection>)] {
        var out: [(line: Int, result: Result<IntelValue, IntelRejection>)] = []
        for record in records(text, delimiter: delimiter) {
            if let first = record.fields.first, record.firstQuoted == false,
                first.trimmingCharacters(in: .whitespaces).hasPrefix("#")
            {
                continue
            }
            let picked: [String] =
                columns.isEmpty
                ? record.fields
                : columns.compactMap { $0 >= 1 && $0 <= record.fields.count ? record.fields[$0 - 1] : nil }
            for cell in picked {
                let c = cell.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !c.isEmpty else { continue }
                out.append((record.line, FreetextParser.classify(c, psl: psl)))
            }
        }
        return out
    }

    struct Record {
        var line: Int
        var fields: [String]
        var firstQuoted: Bool
    }

    /// Splits CSV text into records (RFC 4180 with a configurable delimiter, lenient about
    /// stray quotes inside unquoted fields).
    static func records(_ text: String, delimiter: Character) -> [Record] {
        let delim = delimiter.unicodeScalars.first ?? ","
        var out: [Record] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var fieldWasQuoted = false
        var firstQuoted = false
        var line = 1
        var recordLine = 1
        var atFieldStart = true
        let scalars = Array(text.unicodeScalars)
        var i = 0

        func endField() {
            if fields.isEmpty { firstQuoted = fieldWasQuoted }
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldWasQuoted = false
            atFieldStart = true
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].trimmingCharacters(in: .whitespaces).isEmpty && !firstQuoted) {
                out.append(Record(line: recordLine, fields: fields, firstQuoted: firstQuoted))
            }
            fields = []
            firstQuoted = false
        }

        while i < scalars.count {
            let c = scalars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < scalars.count && scalars[i + 1] == "\"" {
                        field.append("\"")
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if c == "\n" || (c == "\r" && !(i + 1 < scalars.count && scalars[i + 1] == "\n")) { line += 1 }
                    field.append(c)
                }
                i += 1
                continue
            }
            if c == "\"" && atFieldStart {
                inQuotes = true
                fieldWasQuoted = true
                atFieldStart = false
            } else if c == delim {
                endField()
            } else if c == "\n" || c == "\r" {
                endRecord()
                if c == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
                line += 1
                recordLine = line
            } else {
                if atFieldStart && (c == " " || c == "\t") && c != delim {
                    // Leading blanks before an opening quote are tolerated.
                    field.append(c)
                } else {
                    atFieldStart = false
                    field.append(c)
                }
            }
            i += 1
        }
        if !fields.isEmpty || !field.isEmpty || fieldWasQuoted { endRecord() }
        return out
    }
}
