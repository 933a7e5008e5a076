// Plain list formats: hosts files, domain lists and adblock rules. Each input is read in all
// three formats. Never traps; every rule satisfies `CheckingSink`'s checks.
import FuzzListSupport
import FuzzPolicy
import FuzzSupport

fuzzMain { data in
    parseChecked(data, .hosts)
    parseChecked(data, .domains)
    parseChecked(data, .adblock)
}
