// RPZ zone files as policy lists (`ListParser` with `.rpz`): the in-place zone lexer, owner and
// trigger decoding (QNAME, `*.` wildcards, rpz-ip), actions (CNAME ., *., rpz-passthru.,
// rpz-drop.) and local data. Never traps; every rule satisfies `CheckingSink`'s checks.
import FuzzListSupport
import FuzzPolicy
import FuzzSupport

fuzzMain { data in parseChecked(data, .rpz) }
