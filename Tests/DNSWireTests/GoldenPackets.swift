// Golden packets captured from Knot DNS 3.2.6 (knotd + kdig) on 127.0.0.1.
//
// How they were made: knotd served two zones signed on the fly (example.test with NSEC and ECDSA
// P-256, nsec3.test with NSEC3, salt 7BE618B1F4FBDE39, 0 iterations) plus mod-cookies and an NSID.
// Each `kdig` command below was sent to a small Python relay on 127.0.0.1 that forwarded it to
// knotd and recorded the raw query and response bytes (UDP datagrams, or the messages inside the
// TCP length prefixes for AXFR). The soaCookie pair is kdig's first query (BADCOOKIE, extended
// rcode 23) and its retry with the server cookie. `kdigText` holds kdig's own presentation of the
// records (whitespace collapsed), used to check `ResourceRecord.description`.
//
// Do not edit by hand: re-capture instead.

struct GoldenPacket: Sendable {
    let label: String
    let command: String
    let transport: String
    let queryHex: String
    let responseHex: String
    let kdigText: [String]
}

enum Golden {
    static let all: [GoldenPacket] = [
        GoldenPacket(
            label: "soaCookie0",
            command: "kdig example.test SOA +dnssec +nsid +cookie (over UDP)",
            transport: "udp",
            queryHex: """
                edbd01200001000000000001076578616d706c6504746573740000060001000029100000008000001000030000000a00
                087f2dc237d61d976d
                """,
            responseHex: """
                edbd81070001000000000001076578616d706c650474657374000006000100002904d001008000002b0003000b6b6e6f
                742d676f6c64656e000a00187f2dc237d61d976d010000006b0c0ef1d9eb1a270a2f3c40
                """,
            kdigText: []
        ),
        GoldenPacket(
            label: "soaCookie1",
            command: "kdig example.test SOA +dnssec +nsid +cookie (over UDP)",
            transport: "udp",
            queryHex: """
                0eb201200001000000000001076578616d706c6504746573740000060001000029100000008000002000030000000a00
                187f2dc237d61d976d010000006b0c0ef1d9eb1a270a2f3c40
                """,
            responseHex: """
                0eb285000001000200000001076578616d706c6504746573740000060001c00c0006000100000e100027036e7331c00c
                0a686f73746d6173746572c00c78a3f17600001c2000000e10001275000000012cc00c002e000100000e10006000060d
                0200000e106b1e83d76b0bf9bfeb0e076578616d706c65047465737400132199a3aa19a7a68a4b143e59e2f87de4e471
                fffc25e9b078d32a3f89937e3efbcea1dbf6d97d60dd8295ca982fd30e8845f061f29478ca95bc43c24a1da8d0000029
                04d000008000002b0003000b6b6e6f742d676f6c64656e000a00187f2dc237d61d976d010000006b0c0ef1d9eb1a270a
                2f3c40
                """,
            kdigText: [
                "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010102 7200 3600 1209600 300",
                "example.test. 3600 IN RRSIG SOA 13 2 3600 20261213113903 20261129100903 60174 example.test. EyGZo6oZp6aKSxQ+WeL4feTkcf/8JemweNMqP4mTfj77zqHb9tl9YN2ClcqYL9MOiEXwYfKUeMqVvEPCSh2o0A==",
            ]
        ),
        GoldenPacket(
            label: "aDNSSEC",
            command: "kdig example.test A +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                315601200001000000000001076578616d706c65047465737400000100010000291000000080000000
                """,
            responseHex: """
                315685000001000300000001076578616d706c6504746573740000010001c00c0001000100000e100004c0000201c00c
                0001000100000e100004c0000202c00c002e000100000e10006000010d0200000e106b1e83d76b0bf9bfeb0e07657861
                6d706c650474657374007eb8ad62438d176c0c8e208d43b4138d6fb83eb1b28f81f6ffd12a8b9d64be8efc709b4e33f7
                32060c4318d1d191bce4c48258961037287fa071e40bc0863e9300002904d0000080000000
                """,
            kdigText: [
                "example.test. 3600 IN A 192.0.2.1",
                "example.test. 3600 IN A 192.0.2.2",
                "example.test. 3600 IN RRSIG A 13 2 3600 20261213113903 20261129100903 60174 example.test. fritYkONF2wMjiCNQ7QTjW+4PrGyj4H2/9Eqi51kvo78cJtOM/cyBgxDGNHRkbzkxIJYlhA3KH+gceQLwIY+kw==",
            ]
        ),
        GoldenPacket(
            label: "aaaa",
            command: "kdig example.test AAAA (over UDP)",
            transport: "udp",
            queryHex: """
                926701200001000000000000076578616d706c65047465737400001c0001
                """,
            responseHex: """
                926785000001000200000000076578616d706c65047465737400001c0001c00c001c000100000e100010000000000000
                00000000ffffc0000201c00c001c000100000e10001020010db8000000000000000000000001
                """,
            kdigText: [
                "example.test. 3600 IN AAAA ::ffff:192.0.2.1",
                "example.test. 3600 IN AAAA 2001:db8::1",
            ]
        ),
        GoldenPacket(
            label: "mxNSID",
            command: "kdig example.test MX +nsid (over UDP)",
            transport: "udp",
            queryHex: """
                8dbc01200001000000000001076578616d706c65047465737400000f0001000029100000000000000400030000
                """,
            responseHex: """
                8dbc85000001000200000002076578616d706c65047465737400000f0001c00c000f000100000e100009000a046d6169
                6cc00cc00c000f000100000e10000a0014056d61696c32c00cc02c0001000100000e100004c000021900002904d00000
                0000000f0003000b6b6e6f742d676f6c64656e
                """,
            kdigText: [
                "example.test. 3600 IN MX 10 mail.example.test.",
                "example.test. 3600 IN MX 20 mail2.example.test.",
                "mail.example.test. 3600 IN A 192.0.2.25",
            ]
        ),
        GoldenPacket(
            label: "txt",
            command: "kdig example.test TXT (over UDP)",
            transport: "udp",
            queryHex: """
                bf8401200001000000000000076578616d706c6504746573740000100001
                """,
            responseHex: """
                bf8485000001000200000000076578616d706c6504746573740000100001c00c0010000100000e100022056d756c7469
                0d737472696e672271756f746564086573635c61706564040162696ec00c0010000100000e10000c0b763d7370663120
                2d616c6c
                """,
            kdigText: [
                "example.test. 3600 IN TXT \"multi\" \"string\\\"quoted\" \"esc\\\\aped\" \"\\001bin\"",
                "example.test. 3600 IN TXT \"v=spf1 -all\"",
            ]
        ),
        GoldenPacket(
            label: "caa",
            command: "kdig example.test CAA (over UDP)",
            transport: "udp",
            queryHex: """
                0dd601200001000000000000076578616d706c6504746573740001010001
                """,
            responseHex: """
                0dd685000001000200000000076578616d706c6504746573740001010001c00c0101000100000e100016000569737375
                656c657473656e63727970742e6f7267c00c0101000100000e10001e8005696f6465666d61696c746f3a736563406578
                616d706c652e74657374
                """,
            kdigText: [
                "example.test. 3600 IN CAA 0 issue \"letsencrypt.org\"",
                "example.test. 3600 IN CAA 128 iodef \"mailto:sec@example.test\"",
            ]
        ),
        GoldenPacket(
            label: "srv",
            command: "kdig _sip._udp.example.test SRV (over UDP)",
            transport: "udp",
            queryHex: """
                f49f01200001000000000000045f736970045f756470076578616d706c6504746573740000210001
                """,
            responseHex: """
                f49f85000001000100000000045f736970045f756470076578616d706c6504746573740000210001c00c002100010000
                0e100018000a003c13c403736970076578616d706c65047465737400
                """,
            kdigText: [
                "_sip._udp.example.test. 3600 IN SRV 10 60 5060 sip.example.test."
            ]
        ),
        GoldenPacket(
            label: "naptr",
            command: "kdig sip.example.test NAPTR (over UDP)",
            transport: "udp",
            queryHex: """
                e9f90120000100000000000003736970076578616d706c6504746573740000230001
                """,
            responseHex: """
                e9f98500000100010000000003736970076578616d706c6504746573740000230001c00c0023000100000e1000270064
                000a0153075349502b44325500045f736970045f756470076578616d706c65047465737400
                """,
            kdigText: [
                "sip.example.test. 3600 IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.test."
            ]
        ),
        GoldenPacket(
            label: "naptrRegexp",
            command: "kdig re.example.test NAPTR (over UDP)",
            transport: "udp",
            queryHex: """
                021c01200001000000000000027265076578616d706c6504746573740000230001
                """,
            responseHex: """
                021c85000001000100000000027265076578616d706c6504746573740000230001c00c0023000100000e10002c006400
                320175074532552b7369701c215e2e2a24217369703a696e666f406578616d706c652e746573742100
                """,
            kdigText: [
                "re.example.test. 3600 IN NAPTR 100 50 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.test!\" ."
            ]
        ),
        GoldenPacket(
            label: "svcb",
            command: "kdig svc.example.test SVCB (over UDP)",
            transport: "udp",
            queryHex: """
                ab850120000100000000000003737663076578616d706c6504746573740000400001
                """,
            responseHex: """
                ab858500000100020000000003737663076578616d706c6504746573740000400001c00c0040000100000e1000150000
                04706f6f6c076578616d706c65047465737400c00c0040000100000e10001b0001000001000602683202683300030002
                01bb00040004c0000201
                """,
            kdigText: [
                "svc.example.test. 3600 IN SVCB 0 pool.example.test.",
                "svc.example.test. 3600 IN SVCB 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
            ]
        ),
        GoldenPacket(
            label: "httpsDNSSEC",
            command: "kdig www.example.test HTTPS +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                3b8d0120000100000000000103777777076578616d706c65047465737400004100010000291000000080000000
                """,
            responseHex: """
                3b8d8500000100020000000103777777076578616d706c6504746573740000410001c00c0041000100000e10004f0002
                03776562076578616d706c650474657374000000000400010003000100030268330003000220fb0005000e0045fe0d00
                41a5002000205c100b000700102f646e732d71756572797b3f646e737dc00c002e000100000e10006000410d0300000e
                106b1e83d76b0bf9bfeb0e076578616d706c6504746573740006275657041c29d8efc00074947ede0d0ec027e1f51bad
                1712dbfb2a022fe99850d72a1460a5f295f1db75d163a0116bfe03e4397d692bbf81913e9393add1cc00002904d00000
                80000000
                """,
            kdigText: [
                "www.example.test. 3600 IN HTTPS 2 web.example.test. mandatory=alpn,port alpn=h3 port=8443 ech=AEX+DQBBpQAgACBcEAs= key7=\"/dns-query{?dns}\"",
                "www.example.test. 3600 IN RRSIG HTTPS 13 3 3600 20261213113903 20261129100903 60174 example.test. BidWVwQcKdjvwAB0lH7eDQ7AJ+H1G60XEtv7KgIv6ZhQ1yoUYKXylfHbddFjoBFr/gPkOX1pK7+BkT6Tk63RzA==",
            ]
        ),
        GoldenPacket(
            label: "httpsApex",
            command: "kdig example.test HTTPS (over UDP)",
            transport: "udp",
            queryHex: """
                1c1901200001000000000000076578616d706c6504746573740000410001
                """,
            responseHex: """
                1c1985000001000100000000076578616d706c6504746573740000410001c00c0041000100000e10001e000100000100
                030268320006001020010db8000000000000000000000001
                """,
            kdigText: [
                "example.test. 3600 IN HTTPS 1 . alpn=h2 ipv6hint=2001:db8::1"
            ]
        ),
        GoldenPacket(
            label: "ds",
            command: "kdig sub.example.test DS +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                04cc0120000100000000000103737562076578616d706c65047465737400002b00010000291000000080000000
                """,
            responseHex: """
                04cc8500000100020000000103737562076578616d706c65047465737400002b0001c00c002b000100000e1000243039
                0d028d8f3a7b9b5e2c6f1a0d4e3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0908c00c002e000100000e100060002b
                0d0300000e106b1e83d76b0bf9bfeb0e076578616d706c65047465737400d7b5e7f4c7fde38b4bf54a12bea9655160e1
                3b029085eaaa37c8f1406c04798ca4b5888d23c6c35704290f4f64667ae99b17e38016dd32771901e7e3466bff6b0000
                2904d0000080000000
                """,
            kdigText: [
                "sub.example.test. 3600 IN DS 12345 13 2 8D8F3A7B9B5E2C6F1A0D4E3C2B1A09F8E7D6C5B4A39281706F5E4D3C2B1A0908",
                "sub.example.test. 3600 IN RRSIG DS 13 3 3600 20261213113903 20261129100903 60174 example.test. 17Xn9Mf944tL9UoSvqllUWDhOwKQheqqN8jxQGwEeYyktYiNI8bDVwQpD09kZnrpmxfjgBbdMncZAefjRmv/aw==",
            ]
        ),
        GoldenPacket(
            label: "dnskey",
            command: "kdig example.test DNSKEY +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                40ac01200001000000000001076578616d706c65047465737400003000010000291000000080000000
                """,
            responseHex: """
                40ac85000001000300000001076578616d706c6504746573740000300001c00c0030000100000e1000440100030dbc0e
                17de9cd199dba74ace24db84722dcc399fed4ee4118c6b8c88f7cb41e999ea4ab9bb5f7c34b9f76d003d6f1eb6d0a801
                71c25663a5cbd6f0c174d99bc583c00c0030000100000e1000440101030dab0dd1e6e3e89766db24d1d7aba12a2e356d
                2e59a4a5a0fde039b9e4b016cbe3aea3c55acf42f9f2845ce49bd771f657c73f0373db801a5de4e8aefc4df7b38bc00c
                002e000100000e10006000300d0200000e106b1e83d76b0bf9bf0891076578616d706c650474657374008943e8a4f91f
                50a8aa40c5bef5600fd34cf3dceb6a83d88d93b6988d06f4d62acbecdfc33f95e20967584c1b0cb443860f981e91c4f1
                c0f2d5f19f0a9e8d968000002904d0000080000000
                """,
            kdigText: [
                "example.test. 3600 IN DNSKEY 256 3 13 vA4X3pzRmdunSs4k24RyLcw5n+1O5BGMa4yI98tB6ZnqSrm7X3w0ufdtAD1vHrbQqAFxwlZjpcvW8MF02ZvFgw==",
                "example.test. 3600 IN DNSKEY 257 3 13 qw3R5uPol2bbJNHXq6EqLjVtLlmkpaD94Dm55LAWy+Ouo8Vaz0L58oRc5JvXcfZXxz8Dc9uAGl3k6K78Tfeziw==",
                "example.test. 3600 IN RRSIG DNSKEY 13 2 3600 20261213113903 20261129100903 2193 example.test. iUPopPkfUKiqQMW+9WAP00zz3Otqg9iNk7aYjQb01irL7N/DP5XiCWdYTBsMtEOGD5gekcTxwPLV8Z8Kno2WgA==",
            ]
        ),
        GoldenPacket(
            label: "tlsa",
            command: "kdig _443._tcp.example.test TLSA (over UDP)",
            transport: "udp",
            queryHex: """
                b79e01200001000000000000045f343433045f746370076578616d706c6504746573740000340001
                """,
            responseHex: """
                b79e85000001000100000000045f343433045f746370076578616d706c6504746573740000340001c00c003400010000
                0e1000230301010c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6
                """,
            kdigText: [
                "_443._tcp.example.test. 3600 IN TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"
            ]
        ),
        GoldenPacket(
            label: "nxdomainNSEC",
            command: "kdig nope.example.test A +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                effe01200001000000000001046e6f7065076578616d706c65047465737400000100010000291000000080000000
                """,
            responseHex: """
                effe85030001000000060001046e6f7065076578616d706c6504746573740000010001c011000600010000012c002703
                6e7331c0110a686f73746d6173746572c01178a3f17600001c2000000e10001275000000012c046d61696cc011002f00
                010000012c001a036e7331076578616d706c650474657374000006400000000003c011002f00010000012c0026045f34
                3433045f746370076578616d706c650474657374000009620180080003801840010140c011002e00010000012c006000
                060d0200000e106b1e83d76b0bf9bfeb0e076578616d706c65047465737400132199a3aa19a7a68a4b143e59e2f87de4
                e471fffc25e9b078d32a3f89937e3efbcea1dbf6d97d60dd8295ca982fd30e8845f061f29478ca95bc43c24a1da8d0c0
                56002e00010000012c0060002f0d030000012c6b1e83d76b0bf9bfeb0e076578616d706c65047465737400e84c63a867
                710aaf8203078ec7d4477fd42ae11d668f1f0ea150da7a1b9f76a0270e4042fe92f4602f8d0b3062efc42dc5fec57192
                c9981e2a34d46ebaa9f479c011002e00010000012c0060002f0d020000012c6b1e83d76b0bf9bfeb0e076578616d706c
                65047465737400206f9e1f97138f15b235cf64ba240960837d2c1cf2793349050303960d51813dc2be1affa539fe6146
                4562bc6bc5ff4979fc2028e72b1d011b9f736483ccbd8c00002904d0000080000000
                """,
            kdigText: [
                "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010102 7200 3600 1209600 300",
                "mail.example.test. 300 IN NSEC ns1.example.test. A RRSIG NSEC",
                "example.test. 300 IN NSEC _443._tcp.example.test. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY CDS CDNSKEY HTTPS CAA",
                "example.test. 300 IN RRSIG SOA 13 2 3600 20261213113903 20261129100903 60174 example.test. EyGZo6oZp6aKSxQ+WeL4feTkcf/8JemweNMqP4mTfj77zqHb9tl9YN2ClcqYL9MOiEXwYfKUeMqVvEPCSh2o0A==",
                "mail.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. 6ExjqGdxCq+CAweOx9RHf9Qq4R1mjx8OoVDaehufdqAnDkBC/pL0YC+NCzBi78Qtxf7FcZLJmB4qNNRuuqn0eQ==",
                "example.test. 300 IN RRSIG NSEC 13 2 300 20261213113903 20261129100903 60174 example.test. IG+eH5cTjxWyNc9kuiQJYIN9LBzyeTNJBQMDlg1RgT3Cvhr/pTn+YUZFYrxrxf9JefwgKOcrHQEbn3Nkg8y9jA==",
            ]
        ),
        GoldenPacket(
            label: "nxdomainNSEC3",
            command: "kdig nope.nsec3.test A +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                b23901200001000000000001046e6f7065056e73656333047465737400000100010000291000000080000000
                """,
            responseHex: """
                b23985030001000000040001046e6f7065056e7365633304746573740000010001c011000600010000012c0021026e73
                c0110561646d696ec0110000000200001c2000000e10001275000000012c206e64346e6867346b65383134766c687264
                6b3439636e68366c756e3363366835c011003200010000012c002c01000000087be618b1f4fbde391417c36c50f73073
                38a12c795da91df8fa277f7bfb00082200000000029018c011002e00010000012c005e00060d020000012c6b1e83cd6b
                0bf9b5dc36056e73656333047465737400d98c7ef4ba7ce0490dfdc90de34c47b82a517d80579725cc3b59612e964111
                01a07cdebd42cf8563fc385944d606c41fdc94f5eb34b26fe23b049882345e6e0ec04e002e00010000012c005e00320d
                030000012c6b1e83cd6b0bf9b5dc36056e73656333047465737400614749b4c204568dbb1da8cc278e8a94169d81f84b
                547c72242251a3dadd92dedd7343cff9502c40fbec47befc921e2d78248b4d1b4c140b9a62d03cd49ae7b000002904d0
                000080000000
                """,
            kdigText: [
                "nsec3.test. 300 IN SOA ns.nsec3.test. admin.nsec3.test. 2 7200 3600 1209600 300",
                "nd4nhg4ke814vlhrdk49cnh6lun3c6h5.nsec3.test. 300 IN NSEC3 1 0 0 7BE618B1F4FBDE39 2v1mok7n61pjh89cf5eqi7fov8jnuuvr NS SOA RRSIG DNSKEY NSEC3PARAM CDS CDNSKEY",
                "nsec3.test. 300 IN RRSIG SOA 13 2 300 20261213113853 20261129100853 56374 nsec3.test. 2Yx+9Lp84EkN/ckN40xHuCpRfYBXlyXMO1lhLpZBEQGgfN69Qs+FY/w4WUTWBsQf3JT16zSyb+I7BJiCNF5uDg==",
                "nd4nhg4ke814vlhrdk49cnh6lun3c6h5.nsec3.test. 300 IN RRSIG NSEC3 13 3 300 20261213113853 20261129100853 56374 nsec3.test. YUdJtMIEVo27HajMJ46KlBadgfhLVHxyJCJRo9rdkt7dc0PP+VAsQPvsR778kh4teCSLTRtMFAuaYtA81JrnsA==",
            ]
        ),
        GoldenPacket(
            label: "nsec3param",
            command: "kdig nsec3.test NSEC3PARAM +dnssec (over UDP)",
            transport: "udp",
            queryHex: """
                a82101200001000000000001056e73656333047465737400003300010000291000000080000000
                """,
            responseHex: """
                a82185000001000200000001056e7365633304746573740000330001c00c003300010000012c000d01000000087be618
                b1f4fbde39c00c002e00010000012c005e00330d020000012c6b1e83cd6b0bf9b5dc36056e7365633304746573740072
                09889c05410601b4f16da54b72e983252de162a048ee454fbf7a3b1ded4a9997da3c171555e8646e721e2754f888ea54
                3df6a432d961492882311d492992ac00002904d0000080000000
                """,
            kdigText: [
                "nsec3.test. 300 IN NSEC3PARAM 1 0 0 7BE618B1F4FBDE39",
                "nsec3.test. 300 IN RRSIG NSEC3PARAM 13 2 300 20261213113853 20261129100853 56374 nsec3.test. cgmInAVBBgG08W2lS3LpgyUt4WKgSO5FT796Ox3tSpmX2jwXFVXoZG5yHidU+IjqVD32pDLZYUkogjEdSSmSrA==",
            ]
        ),
        GoldenPacket(
            label: "cname",
            command: "kdig alias.example.test A (over UDP)",
            transport: "udp",
            queryHex: """
                873a0120000100000000000005616c696173076578616d706c6504746573740000010001
                """,
            responseHex: """
                873a8500000100030000000005616c696173076578616d706c6504746573740000010001c00c0005000100000e100002
                c012c0120001000100000e100004c0000201c0120001000100000e100004c0000202
                """,
            kdigText: [
                "alias.example.test. 3600 IN CNAME example.test.",
                "example.test. 3600 IN A 192.0.2.1",
                "example.test. 3600 IN A 192.0.2.2",
            ]
        ),
        GoldenPacket(
            label: "dname",
            command: "kdig x.old.example.test A (over UDP)",
            transport: "udp",
            queryHex: """
                9f7f012000010000000000000178036f6c64076578616d706c6504746573740000010001
                """,
            responseHex: """
                9f7f850000010002000000000178036f6c64076578616d706c6504746573740000010001c00e0027000100000e10000d
                076578616d706c65036f726700c00c0005000100000e10000f0178076578616d706c65036f726700
                """,
            kdigText: [
                "old.example.test. 3600 IN DNAME example.org.",
                "x.old.example.test. 3600 IN CNAME x.example.org.",
            ]
        ),
        GoldenPacket(
            label: "ptr",
            command: "kdig 1.2.0.192.in-addr.example.test PTR (over UDP)",
            transport: "udp",
            queryHex: """
                0bdc012000010000000000000131013201300331393207696e2d61646472076578616d706c65047465737400000c0001
                """,
            responseHex: """
                0bdc850000010001000000000131013201300331393207696e2d61646472076578616d706c65047465737400000c0001
                c00c000c000100000e10000603777777c01e
                """,
            kdigText: [
                "1.2.0.192.in-addr.example.test. 3600 IN PTR www.example.test."
            ]
        ),
        GoldenPacket(
            label: "unknownType",
            command: "kdig unk.example.test TYPE65280 (over UDP)",
            transport: "udp",
            queryHex: """
                66ae0120000100000000000003756e6b076578616d706c65047465737400ff000001
                """,
            responseHex: """
                66ae8500000100010000000003756e6b076578616d706c65047465737400ff000001c00cff00000100000e1000040a00
                0001
                """,
            kdigText: [
                "unk.example.test. 3600 IN TYPE65280 \\# 4 0A000001"
            ]
        ),
        GoldenPacket(
            label: "hinfo",
            command: "kdig hinfo.example.test HINFO (over UDP)",
            transport: "udp",
            queryHex: """
                5e17012000010000000000000568696e666f076578616d706c65047465737400000d0001
                """,
            responseHex: """
                5e17850000010001000000000568696e666f076578616d706c65047465737400000d0001c00c000d000100000e100009
                025043054c696e7578
                """,
            kdigText: [
                "hinfo.example.test. 3600 IN HINFO \"PC\" \"Linux\""
            ]
        ),
        GoldenPacket(
            label: "ecs4",
            command: "kdig example.test A +subnet=192.0.2.0/24 (over UDP)",
            transport: "udp",
            queryHex: """
                049a01200001000000000001076578616d706c6504746573740000010001000029100000000000000b00080007000118
                00c00002
                """,
            responseHex: """
                049a85000001000200000001076578616d706c6504746573740000010001c00c0001000100000e100004c0000201c00c
                0001000100000e100004c000020200002904d0000000000000
                """,
            kdigText: [
                "example.test. 3600 IN A 192.0.2.1",
                "example.test. 3600 IN A 192.0.2.2",
            ]
        ),
        GoldenPacket(
            label: "ecs6",
            command: "kdig example.test AAAA +subnet=2001:db8:1200::/40 (over UDP)",
            transport: "udp",
            queryHex: """
                f3c101200001000000000001076578616d706c65047465737400001c0001000029100000000000000d00080009000228
                0020010db812
                """,
            responseHex: """
                f3c185000001000200000001076578616d706c65047465737400001c0001c00c001c000100000e100010000000000000
                00000000ffffc0000201c00c001c000100000e10001020010db800000000000000000000000100002904d00000000000
                00
                """,
            kdigText: [
                "example.test. 3600 IN AAAA ::ffff:192.0.2.1",
                "example.test. 3600 IN AAAA 2001:db8::1",
            ]
        ),
        GoldenPacket(
            label: "padding",
            command: "kdig example.test A +padding=128 (over UDP)",
            transport: "udp",
            queryHex: """
                27dd01200001000000000001076578616d706c65047465737400000100010000291000000000000084000c0080000000
                000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
                000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
                0000000000000000000000000000000000000000000000000000000000
                """,
            responseHex: """
                27dd85000001000200000001076578616d706c6504746573740000010001c00c0001000100000e100004c0000201c00c
                0001000100000e100004c000020200002904d0000000000000
                """,
            kdigText: [
                "example.test. 3600 IN A 192.0.2.1",
                "example.test. 3600 IN A 192.0.2.2",
            ]
        ),
        GoldenPacket(
            label: "refused",
            command: "kdig example.org A +nsid (over UDP)",
            transport: "udp",
            queryHex: """
                f83001200001000000000001076578616d706c65036f72670000010001000029100000000000000400030000
                """,
            responseHex: """
                f83081050001000000000001076578616d706c65036f7267000001000100002904d00000000000150003000b6b6e6f74
                2d676f6c64656e000f00020014
                """,
            kdigText: []
        ),
        GoldenPacket(
            label: "axfr",
            command: "kdig example.test AXFR (over TCP)",
            transport: "tcp",
            queryHex: """
                c04601200001000000000000076578616d706c6504746573740000fc0001
                """,
            responseHex: """
                c04681000001005f00000000076578616d706c6504746573740000fc0001c00c0006000100000e100027036e7331c00c
                0a686f73746d6173746572c00c78a3f17600001c2000000e10001275000000012cc00c0001000100000e100004c00002
                01c00c0001000100000e100004c0000202c00c0002000100000e100006036e7331c00cc00c0002000100000e10000603
                6e7332c00cc00c000f000100000e100009000a046d61696cc00cc00c000f000100000e10000a0014056d61696c32c00c
                c00c0010000100000e100022056d756c74690d737472696e672271756f746564086573635c61706564040162696ec00c
                0010000100000e10000c0b763d73706631202d616c6cc00c001c000100000e10001000000000000000000000ffffc000
                0201c00c001c000100000e10001020010db8000000000000000000000001c00c002e000100000e10006000010d020000
                0e106b1e83d76b0bf9bfeb0e076578616d706c650474657374007eb8ad62438d176c0c8e208d43b4138d6fb83eb1b28f
                81f6ffd12a8b9d64be8efc709b4e33f732060c4318d1d191bce4c48258961037287fa071e40bc0863e93c00c002e0001
                00000e10006000020d0200000e106b1e83d76b0bf9bfeb0e076578616d706c650474657374001034ee942d6b449c3dce
                1aac0d7a0683c584e9e6a688f31e3bef4b526254c6925558e797e6e4c5bc63e8019029fb6a45ca5a7017926a78d557f7
                45e60f916b97c00c002e000100000e10006000060d0200000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573
                7400132199a3aa19a7a68a4b143e59e2f87de4e471fffc25e9b078d32a3f89937e3efbcea1dbf6d97d60dd8295ca982f
                d30e8845f061f29478ca95bc43c24a1da8d0c00c002e000100000e100060000f0d0200000e106b1e83d76b0bf9bfeb0e
                076578616d706c6504746573740047f53fbadd7c16d8305aa1d617b895a4e8899337e1f9e0153052dd5e0b7f3bee0f42
                13ada9776ebfd1a99655df6d0df0755e38b5b5c5cfa3ae18738d6814b403c00c002e000100000e10006000100d020000
                0e106b1e83d76b0bf9bfeb0e076578616d706c6504746573740030b9c643b501a5bef84893fe74596689c3e273bf22b5
                81c334134b4dc35a3cdfb0afc081164b819cb7b1142767285bfa374d0f28d7eb58affee9b3480a0b1d0dc00c002e0001
                00000e100060001c0d0200000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573740006d4a2258c87c655b711
                e825a14f467df2751f3d7e373b24b52dbfe980723d6d74cc9f101a34dfd23708a5c8fdcc7d33cfdf4b02f9db0dee3a92
                da80d56c3e18c00c002e00010000012c0060002f0d020000012c6b1e83d76b0bf9bfeb0e076578616d706c6504746573
                7400206f9e1f97138f15b235cf64ba240960837d2c1cf2793349050303960d51813dc2be1affa539fe61464562bc6bc5
                ff4979fc2028e72b1d011b9f736483ccbd8cc00c002e000100000e10006000300d0200000e106b1e83d76b0bf9bf0891
                076578616d706c650474657374008943e8a4f91f50a8aa40c5bef5600fd34cf3dceb6a83d88d93b6988d06f4d62acbec
                dfc33f95e20967584c1b0cb443860f981e91c4f1c0f2d5f19f0a9e8d9680c00c002e0001000000000060003b0d020000
                00006b1e83d76b0bf9bf0891076578616d706c650474657374009795c1a9fc16c00742d8927693192015901c5b66c1ad
                aee00143cc0e1f8faa23412f583d817740988d705f2da87b4ebe3181632abbd4667e10ceaee50b852869c00c002e0001
                000000000060003c0d02000000006b1e83d76b0bf9bf0891076578616d706c65047465737400151f94c7fee826e6c61a
                8c8c9285d0a406866e11a6f3f8d720acb447e5fab73942283f665d481051c7b216ee82405eb8f99ce795a81323db419d
                ebca17f3b413c00c002e000100000e10006000410d0200000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573
                74005c2385070697d637162303b3242a2ff1abfb496bdaf783efff2e38ebfdee18ef74da320eb3cdf2f2714369787ad5
                5f0c6577a3b58f27d8df03afbd3b76f40081c00c002e000100000e10006001010d0200000e106b1e83d76b0bf9bfeb0e
                076578616d706c65047465737400ff9b94b2452586ca1006b42c9eb2e6474f293d31f011d9c708684699c1669201bf6f
                6838cb89f2056b263b11b2208203a61b726337df0406434e755700e0a674c00c002f00010000012c0026045f34343304
                5f746370076578616d706c650474657374000009620180080003801840010140c00c0030000100000e1000440100030d
                bc0e17de9cd199dba74ace24db84722dcc399fed4ee4118c6b8c88f7cb41e999ea4ab9bb5f7c34b9f76d003d6f1eb6d0
                a80171c25663a5cbd6f0c174d99bc583c00c0030000100000e1000440101030dab0dd1e6e3e89766db24d1d7aba12a2e
                356d2e59a4a5a0fde039b9e4b016cbe3aea3c55acf42f9f2845ce49bd771f657c73f0373db801a5de4e8aefc4df7b38b
                c00c003b000100000000002408910d020e4e9b7af33700a183e87f158e6bf47234108f6e764dcf32dd3a7331bc92232b
                c00c003c00010000000000440101030dab0dd1e6e3e89766db24d1d7aba12a2e356d2e59a4a5a0fde039b9e4b016cbe3
                aea3c55acf42f9f2845ce49bd771f657c73f0373db801a5de4e8aefc4df7b38bc00c0041000100000e10001e00010000
                0100030268320006001020010db8000000000000000000000001c00c0101000100000e100016000569737375656c6574
                73656e63727970742e6f7267c00c0101000100000e10001e8005696f6465666d61696c746f3a736563406578616d706c
                652e74657374045f343433045f746370c00c002e00010000012c0060002f0d040000012c6b1e83d76b0bf9bfeb0e0765
                78616d706c65047465737400e8c727e27085007fb48fde0a3387fb95d47a3630f38c5541363ad6c55225cc964473e74f
                8f21b2202d0a418b0d03fcb4f518afddfa9f7afae07b59727a1149cbc816002e000100000e10006000340d0400000e10
                6b1e83d76b0bf9bfeb0e076578616d706c650474657374009bf9ffdc727c54f7af0c847b6bcd9f4a60e562feb20e0b05
                e48a49f0a7efd8b47d7d70a350dc57311fe0b43dffca59dcd5e7167863c024a1b8eceb56b0a48bc6c816002f00010000
                012c0021045f736970045f756470076578616d706c65047465737400000700000000000308c8160034000100000e1000
                230301010c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6045f736970045f756470c00c
                0021000100000e100018000a003c13c403736970076578616d706c65047465737400c954002e000100000e1000600021
                0d0400000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573740069c9cd86fe4b95dd178b9f2ac93059602421
                4cb596dd6fe54abc30c17e638fa407c7367061399373ad1960cc06efccc659f1578b2bf8491246210ebb6b1726a3c954
                002e00010000012c0060002f0d040000012c6b1e83d76b0bf9bfeb0e076578616d706c650474657374005c5a289e9e16
                b02aa268e91fbb2ccfeaa3c1cecfa3657b5e0609cb03d7fbc98e3a00942661be826f9b29a2b66c50e1a55aa77aa3950f
                94bcecb8e5158373a0d0c954002f00010000012c001c05616c696173076578616d706c65047465737400000600000000
                400305616c696173c00c0005000100000e100002c00cca82002e000100000e10006000050d0300000e106b1e83d76b0b
                f9bfeb0e076578616d706c650474657374005b693887c4eea7da9a52239f33bc0e69102441c4c86b97e57bb3be358569
                a01b87b6d27bc6478c334f5dd585aca145f4fb21c817b9e13c6c0f04bf10ba839922ca82002e00010000012c0060002f
                0d030000012c6b1e83d76b0bf9bfeb0e076578616d706c65047465737400829b709f89be55473aceca89a57d348928fa
                e4ccb080543625529514435e465db35d4b9a90824f8ea017ea6f1e738085595152e383d1f605c1bf0030d954bb11ca82
                002f00010000012c001c0568696e666f076578616d706c6504746573740000060400000000030568696e666fc00c000d
                000100000e100009025043054c696e7578cb96002e000100000e100060000d0d0300000e106b1e83d76b0bf9bfeb0e07
                6578616d706c6504746573740053c5bd969d6a0a39cfac5d824f57f4b474143c703f13d3494079797051368ba670c49e
                b015a206c1e44a1b1106c0487584d82e6331fdeb440215be74a1375526cb96002e00010000012c0060002f0d03000001
                2c6b1e83d76b0bf9bfeb0e076578616d706c65047465737400102cd1952cf80947faea9eec53af3c95a521a0c4ac5c65
                fc4eee1001b1987dd87e92f05f2a5cad3509054fa7896f630bf9774d7656ce3cf612ad2ee0feb3af0fcb96002f000100
                00012c00280131013201300331393207696e2d61646472076578616d706c650474657374000006000400000003013101
                3201300331393207696e2d61646472c00c000c000100000e10000603777777c00c0131013201300331393207696e2d61
                646472c00c002e000100000e100060000c0d0700000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573740047
                9e53f23409c6bc9fb6e1945bc05526d9c9d2e6d62be80ce3862e1864d93f042e960a9a3c849fbf05ac78e83c4eb325bb
                2efb3388243b0ddf8afec2228240b7cce1002e00010000012c0060002f0d070000012c6b1e83d76b0bf9bfeb0e076578
                616d706c6504746573740051048881194525bd0a4b8d64adc47a4a38b697794841355f71f8df27b8df018a9fb428c195
                024928600619cfaefa4c5c9673cda2948afef9bcd4e626b1c88a62cce1002f00010000012c001b046d61696c07657861
                6d706c650474657374000006000800000003046d61696cc00c0001000100000e100004c0000219cdf2002e000100000e
                10006000010d0300000e106b1e83d76b0bf9bfeb0e076578616d706c650474657374000d22500b557a24ca26a2dbb485
                833af3f2739e06d3cf4a2f068468b9829e9149780da4f5a1a22b4059ee24a8396359817955ae710c5ca0b5b58e770a60
                9310b1cdf2002e00010000012c0060002f0d030000012c6b1e83d76b0bf9bfeb0e076578616d706c65047465737400e8
                4c63a867710aaf8203078ec7d4477fd42ae11d668f1f0ea150da7a1b9f76a0270e4042fe92f4602f8d0b3062efc42dc5
                fec57192c9981e2a34d46ebaa9f479cdf2002f00010000012c001a036e7331076578616d706c65047465737400000640
                0000000003036e7331c00c0001000100000e100004c0000235cf05001c000100000e10001020010db800000000000000
                0000000053cf05002e000100000e10006000010d0300000e106b1e83d76b0bf9bfeb0e076578616d706c650474657374
                00eb1d691e22d5e67b0fd6d522975ee17f55348e27529c60d0035092eb695798e9ad87676ed2780cb763b4ae040fb540
                2fa3fd1aab49df8e51c8a78d93a7ee0287cf05002e000100000e100060001c0d0300000e106b1e83d76b0bf9bfeb0e07
                6578616d706c650474657374006bafc7ac6c4ee5e448c5c1ffdd1416e3e448c15b6a5f070582e53fe815c65799175e73
                85be4f0c0f287aae934e337e7547b755def4b0b48ac453c6d76ca49b54cf05002e00010000012c0060002f0d03000001
                2c6b1e83d76b0bf9bfeb0e076578616d706c65047465737400f2ffc6250c7c04c0d03d111089330a0a4cb72587359f07
                25aab26d3669cbe56a33bf749134f2702d98470731275e6fc879e870dbddecbc0808808f0f64a226d7cf05002f000100
                00012c001a036e7332076578616d706c650474657374000006400000080003036e7332c00c0001000100000e100004c0
                000236d09f002e000100000e10006000010d0300000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573740004
                7f04d0170b7fb3a563080733ff2a7d5b22bcb4e4d3a4718ddcb5947ecf19dc84586a7f0326938d3efcaa29d77fd91a4c
                e900ec8757097d5d7bf3a156f1ab13d09f002e00010000012c0060002f0d030000012c6b1e83d76b0bf9bfeb0e076578
                616d706c6504746573740032d87c1a066bcb52063f2af62a9e9e263a4ff024a5c4b84130ce4ffe6cf44927f930d3f27a
                d31172cb28675066d9fbfd8fdeb368cd1b438b4f83ea3bdd8f374ad09f002f00010000012c001a036f6c64076578616d
                706c650474657374000006400000000003036f6c64c00c0027000100000e10000d076578616d706c65036f726700d1b1
                002e000100000e10006000270d0300000e106b1e83d76b0bf9bfeb0e076578616d706c650474657374006fe780c0a5eb
                d1c0705fb245a16e7b0f6eafa20eff6d0e5feff47b88e19cd20f8fa01c0b52d3fe606da0a100fa43c1531a94d4c53640
                53577725058350851468d1b1002e00010000012c0060002f0d030000012c6b1e83d76b0bf9bfeb0e076578616d706c65
                047465737400d0868df34d1b7380972567c272b502158da2511c1b53025cb70346ffb941b12779c854529af80717eeec
                d252acb3e7f8a043bef0dbdebff3856a60a57a106e00d1b1002f00010000012c0019027265076578616d706c65047465
                7374000006000000000103027265c00c0023000100000e10002c006400320175074532552b7369701c215e2e2a242173
                69703a696e666f406578616d706c652e746573742100d2cb002e000100000e10006000230d0300000e106b1e83d76b0b
                f9bfeb0e076578616d706c650474657374009c73bcd1d49a44b4b65789ae67f5f89210707c5be73aec8211bf29e8fd20
                e6d2be7adf31b25f745c962c5b8446537ade61a9e204c3ed88ae6e4a8cc08cfcc1a7d2cb002e00010000012c0060002f
                0d030000012c6b1e83d76b0bf9bfeb0e076578616d706c650474657374003f2ae2a5159b12a8a9ff5688e9f013decfe4
                dda2570ab73ccaa57716a7b51891c0a37182c55dd431ee4c9f4f384b792da1b258f734affb5b684b97ee60585f51d2cb
                002f00010000012c001a03736970076578616d706c65047465737400000600000000100303736970c00c002300010000
                0e1000270064000a0153075349502b44325500045f736970045f756470076578616d706c65047465737400d404002e00
                0100000e10006000230d0300000e106b1e83d76b0bf9bfeb0e076578616d706c65047465737400c1a85ae74b325bb2c0
                ac8dda79c8d3b0031f70151079cd62650f15726d538560c23caae1b17c8ea834e2d3762e7232b2f4cddcaac12eb12b87
                f350146659e778d404002e00010000012c0060002f0d030000012c6b1e83d76b0bf9bfeb0e076578616d706c65047465
                7374006f2fc8aab28422e04f16cb7fa631ed59bb26b23026810c0b2ad87be8ccd08d30b8b78078b062d39128ebcf76d2
                4115a8a9322a1320a1d4a8e276fbfced2f8b1cd404002f00010000012c001a03737562076578616d706c650474657374
                00000600000000100303737562c00c002b000100000e10002430390d028d8f3a7b9b5e2c6f1a0d4e3c2b1a09f8e7d6c5
                b4a39281706f5e4d3c2b1a0908d539002e000100000e100060002b0d0300000e106b1e83d76b0bf9bfeb0e076578616d
                706c65047465737400d7b5e7f4c7fde38b4bf54a12bea9655160e13b029085eaaa37c8f1406c04798ca4b5888d23c6c3
                5704290f4f64667ae99b17e38016dd32771901e7e3466bff6bd539002e00010000012c0060002f0d030000012c6b1e83
                d76b0bf9bfeb0e076578616d706c6504746573740011ae42559085bd20933740670718561f513da50b4c804ac034dc73
                213820aba76d2b4eecfa1512a37ee16734a2c3b629dcb0ad2348a64db61174e23b10dfa4ebd539002f00010000012c00
                1a03737663076578616d706c65047465737400000600000000001303737663c00c002e00010000012c0060002f0d0300
                00012c6b1e83d76b0bf9bfeb0e076578616d706c65047465737400261a3d7fab030f4cdc10f0853173e74cd8f189da33
                7851a673688f8da73a9ecc1a46aa639e51d753356fbcee2f8c18e8f3befc650605292f8f67eac46c87a714d66b002e00
                0100000e10006000400d0300000e106b1e83d76b0bf9bfeb0e076578616d706c6504746573740014b32221f36f38951e
                3bb8eafa0bcb48ad82f281ea66d41ff015401b9e9ddd296e98979b32d4f80714b574557b40bd54c071f21efdb1d2a560
                6ce84d55f610cbd66b002f00010000012c001d03756e6b076578616d706c650474657374000009000000000003000080
                d66b0040000100000e100015000004706f6f6c076578616d706c65047465737400d66b0040000100000e10001b000100
                000100060268320268330003000201bb00040004c000020103756e6bc00c002e00010000012c0060002f0d030000012c
                6b1e83d76b0bf9bfeb0e076578616d706c65047465737400efbb2e12bab8713557842c5c27cefadc101b091f2371a208
                9cd0022390e74305f58ac468904e65f4f73884a61d8bb5d3c8d0d154c12aa09b45b2fe41eda2e9bdd7b8002e00010000
                0e100060ff000d0300000e106b1e83d76b0bf9bfeb0e076578616d706c65047465737400570a495fea8ebadb68248298
                b9dca0bebc9deeb894db8d7c2e774830267a42120d99390fe4f0d2a4df154d7f7277535fded8ef50d9b7c5a041499da5
                cdf61c91d7b8002f00010000012c001d03777777076578616d706c650474657374000006000000000003ff0180d7b8ff
                00000100000e1000040a00000103777777c00c002e00010000012c0060002f0d030000012c6b1e83d76b0bf9bfeb0e07
                6578616d706c65047465737400b76ae13c0a63c07951f5726c2977e83739b576595cc2c6d81f57d68e5b5387736ea1f0
                094e3baeaf2f8b533a49478131184bd62632a0b1ef6a49dcccc3b4013fd8cd002e000100000e10006000410d0300000e
                106b1e83d76b0bf9bfeb0e076578616d706c6504746573740006275657041c29d8efc00074947ede0d0ec027e1f51bad
                1712dbfb2a022fe99850d72a1460a5f295f1db75d163a0116bfe03e4397d692bbf81913e9393add1ccd8cd002f000100
                00012c0019076578616d706c650474657374000009000000000003000040d8cd0041000100000e10004f000203776562
                076578616d706c650474657374000000000400010003000100030268330003000220fb0005000e0045fe0d0041a50020
                00205c100b000700102f646e732d71756572797b3f646e737dc00c0006000100000e100027036e7331c00c0a686f7374
                6d6173746572c00c78a3f17600001c2000000e10001275000000012c
                """,
            kdigText: [
                "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010102 7200 3600 1209600 300",
                "example.test. 3600 IN A 192.0.2.1",
                "example.test. 3600 IN A 192.0.2.2",
                "example.test. 3600 IN NS ns1.example.test.",
                "example.test. 3600 IN NS ns2.example.test.",
                "example.test. 3600 IN MX 10 mail.example.test.",
                "example.test. 3600 IN MX 20 mail2.example.test.",
                "example.test. 3600 IN TXT \"multi\" \"string\\\"quoted\" \"esc\\\\aped\" \"\\001bin\"",
                "example.test. 3600 IN TXT \"v=spf1 -all\"",
                "example.test. 3600 IN AAAA ::ffff:192.0.2.1",
                "example.test. 3600 IN AAAA 2001:db8::1",
                "example.test. 3600 IN RRSIG A 13 2 3600 20261213113903 20261129100903 60174 example.test. fritYkONF2wMjiCNQ7QTjW+4PrGyj4H2/9Eqi51kvo78cJtOM/cyBgxDGNHRkbzkxIJYlhA3KH+gceQLwIY+kw==",
                "example.test. 3600 IN RRSIG NS 13 2 3600 20261213113903 20261129100903 60174 example.test. EDTulC1rRJw9zhqsDXoGg8WE6eamiPMeO+9LUmJUxpJVWOeX5uTFvGPoAZAp+2pFylpwF5JqeNVX90XmD5Frlw==",
                "example.test. 3600 IN RRSIG SOA 13 2 3600 20261213113903 20261129100903 60174 example.test. EyGZo6oZp6aKSxQ+WeL4feTkcf/8JemweNMqP4mTfj77zqHb9tl9YN2ClcqYL9MOiEXwYfKUeMqVvEPCSh2o0A==",
                "example.test. 3600 IN RRSIG MX 13 2 3600 20261213113903 20261129100903 60174 example.test. R/U/ut18FtgwWqHWF7iVpOiJkzfh+eAVMFLdXgt/O+4PQhOtqXduv9GpllXfbQ3wdV44tbXFz6OuGHONaBS0Aw==",
                "example.test. 3600 IN RRSIG TXT 13 2 3600 20261213113903 20261129100903 60174 example.test. MLnGQ7UBpb74SJP+dFlmicPic78itYHDNBNLTcNaPN+wr8CBFkuBnLexFCdnKFv6N00PKNfrWK/+6bNICgsdDQ==",
                "example.test. 3600 IN RRSIG AAAA 13 2 3600 20261213113903 20261129100903 60174 example.test. BtSiJYyHxlW3EegloU9GffJ1Hz1+NzsktS2/6YByPW10zJ8QGjTf0jcIpcj9zH0zz99LAvnbDe46ktqA1Ww+GA==",
                "example.test. 300 IN RRSIG NSEC 13 2 300 20261213113903 20261129100903 60174 example.test. IG+eH5cTjxWyNc9kuiQJYIN9LBzyeTNJBQMDlg1RgT3Cvhr/pTn+YUZFYrxrxf9JefwgKOcrHQEbn3Nkg8y9jA==",
                "example.test. 3600 IN RRSIG DNSKEY 13 2 3600 20261213113903 20261129100903 2193 example.test. iUPopPkfUKiqQMW+9WAP00zz3Otqg9iNk7aYjQb01irL7N/DP5XiCWdYTBsMtEOGD5gekcTxwPLV8Z8Kno2WgA==",
                "example.test. 0 IN RRSIG CDS 13 2 0 20261213113903 20261129100903 2193 example.test. l5XBqfwWwAdC2JJ2kxkgFZAcW2bBra7gAUPMDh+PqiNBL1g9gXdAmI1wXy2oe06+MYFjKrvUZn4Qzq7lC4UoaQ==",
                "example.test. 0 IN RRSIG CDNSKEY 13 2 0 20261213113903 20261129100903 2193 example.test. FR+Ux/7oJubGGoyMkoXQpAaGbhGm8/jXIKy0R+X6tzlCKD9mXUgQUceyFu6CQF64+ZznlagTI9tBnevKF/O0Ew==",
                "example.test. 3600 IN RRSIG HTTPS 13 2 3600 20261213113903 20261129100903 60174 example.test. XCOFBwaX1jcWIwOzJCov8av7SWva94Pv/y446/3uGO902jIOs83y8nFDaXh61V8MZXejtY8n2N8Dr707dvQAgQ==",
                "example.test. 3600 IN RRSIG CAA 13 2 3600 20261213113903 20261129100903 60174 example.test. /5uUskUlhsoQBrQsnrLmR08pPTHwEdnHCGhGmcFmkgG/b2g4y4nyBWsmOxGyIIIDphtyYzffBAZDTnVXAOCmdA==",
                "example.test. 300 IN NSEC _443._tcp.example.test. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY CDS CDNSKEY HTTPS CAA",
                "example.test. 3600 IN DNSKEY 256 3 13 vA4X3pzRmdunSs4k24RyLcw5n+1O5BGMa4yI98tB6ZnqSrm7X3w0ufdtAD1vHrbQqAFxwlZjpcvW8MF02ZvFgw==",
                "example.test. 3600 IN DNSKEY 257 3 13 qw3R5uPol2bbJNHXq6EqLjVtLlmkpaD94Dm55LAWy+Ouo8Vaz0L58oRc5JvXcfZXxz8Dc9uAGl3k6K78Tfeziw==",
                "example.test. 0 IN CDS 2193 13 2 0E4E9B7AF33700A183E87F158E6BF47234108F6E764DCF32DD3A7331BC92232B",
                "example.test. 0 IN CDNSKEY 257 3 13 qw3R5uPol2bbJNHXq6EqLjVtLlmkpaD94Dm55LAWy+Ouo8Vaz0L58oRc5JvXcfZXxz8Dc9uAGl3k6K78Tfeziw==",
                "example.test. 3600 IN HTTPS 1 . alpn=h2 ipv6hint=2001:db8::1",
                "example.test. 3600 IN CAA 0 issue \"letsencrypt.org\"",
                "example.test. 3600 IN CAA 128 iodef \"mailto:sec@example.test\"",
                "_443._tcp.example.test. 300 IN RRSIG NSEC 13 4 300 20261213113903 20261129100903 60174 example.test. 6Mcn4nCFAH+0j94KM4f7ldR6NjDzjFVBNjrWxVIlzJZEc+dPjyGyIC0KQYsNA/y09Riv3fqfevrge1lyehFJyw==",
                "_443._tcp.example.test. 3600 IN RRSIG TLSA 13 4 3600 20261213113903 20261129100903 60174 example.test. m/n/3HJ8VPevDIR7a82fSmDlYv6yDgsF5IpJ8Kfv2LR9fXCjUNxXMR/gtD3/ylnc1ecWeGPAJKG47OtWsKSLxg==",
                "_443._tcp.example.test. 300 IN NSEC _sip._udp.example.test. RRSIG NSEC TLSA",
                "_443._tcp.example.test. 3600 IN TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
                "_sip._udp.example.test. 3600 IN SRV 10 60 5060 sip.example.test.",
                "_sip._udp.example.test. 3600 IN RRSIG SRV 13 4 3600 20261213113903 20261129100903 60174 example.test. acnNhv5Lld0Xi58qyTBZYCQhTLWW3W/lSrwwwX5jj6QHxzZwYTmTc60ZYMwG78zGWfFXiyv4SRJGIQ67axcmow==",
                "_sip._udp.example.test. 300 IN RRSIG NSEC 13 4 300 20261213113903 20261129100903 60174 example.test. XFoonp4WsCqiaOkfuyzP6qPBzs+jZXteBgnLA9f7yY46AJQmYb6Cb5sporZsUOGlWqd6o5UPlLzsuOUVg3Og0A==",
                "_sip._udp.example.test. 300 IN NSEC alias.example.test. SRV RRSIG NSEC",
                "alias.example.test. 3600 IN CNAME example.test.",
                "alias.example.test. 3600 IN RRSIG CNAME 13 3 3600 20261213113903 20261129100903 60174 example.test. W2k4h8Tup9qaUiOfM7wOaRAkQcTIa5fle7O+NYVpoBuHttJ7xkeMM09d1YWsoUX0+yHIF7nhPGwPBL8QuoOZIg==",
                "alias.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. gptwn4m+VUc6zsqJpX00iSj65MywgFQ2JVKVFENeRl2zXUuakIJPjqAX6m8ec4CFWVFS44PR9gXBvwAw2VS7EQ==",
                "alias.example.test. 300 IN NSEC hinfo.example.test. CNAME RRSIG NSEC",
                "hinfo.example.test. 3600 IN HINFO \"PC\" \"Linux\"",
                "hinfo.example.test. 3600 IN RRSIG HINFO 13 3 3600 20261213113903 20261129100903 60174 example.test. U8W9lp1qCjnPrF2CT1f0tHQUPHA/E9NJQHl5cFE2i6ZwxJ6wFaIGweRKGxEGwEh1hNguYzH960QCFb50oTdVJg==",
                "hinfo.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. ECzRlSz4CUf66p7sU688laUhoMSsXGX8Tu4QAbGYfdh+kvBfKlytNQkFT6eJb2ML+XdNdlbOPPYSrS7g/rOvDw==",
                "hinfo.example.test. 300 IN NSEC 1.2.0.192.in-addr.example.test. HINFO RRSIG NSEC",
                "1.2.0.192.in-addr.example.test. 3600 IN PTR www.example.test.",
                "1.2.0.192.in-addr.example.test. 3600 IN RRSIG PTR 13 7 3600 20261213113903 20261129100903 60174 example.test. R55T8jQJxryftuGUW8BVJtnJ0ubWK+gM44YuGGTZPwQulgqaPISfvwWseOg8TrMluy77M4gkOw3fiv7CIoJAtw==",
                "1.2.0.192.in-addr.example.test. 300 IN RRSIG NSEC 13 7 300 20261213113903 20261129100903 60174 example.test. UQSIgRlFJb0KS41krcR6Sji2l3lIQTVfcfjfJ7jfAYqftCjBlQJJKGAGGc+u+kxclnPNopSK/vm81OYmsciKYg==",
                "1.2.0.192.in-addr.example.test. 300 IN NSEC mail.example.test. PTR RRSIG NSEC",
                "mail.example.test. 3600 IN A 192.0.2.25",
                "mail.example.test. 3600 IN RRSIG A 13 3 3600 20261213113903 20261129100903 60174 example.test. DSJQC1V6JMomotu0hYM68/JzngbTz0ovBoRouYKekUl4DaT1oaIrQFnuJKg5Y1mBeVWucQxcoLW1jncKYJMQsQ==",
                "mail.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. 6ExjqGdxCq+CAweOx9RHf9Qq4R1mjx8OoVDaehufdqAnDkBC/pL0YC+NCzBi78Qtxf7FcZLJmB4qNNRuuqn0eQ==",
                "mail.example.test. 300 IN NSEC ns1.example.test. A RRSIG NSEC",
                "ns1.example.test. 3600 IN A 192.0.2.53",
                "ns1.example.test. 3600 IN AAAA 2001:db8::53",
                "ns1.example.test. 3600 IN RRSIG A 13 3 3600 20261213113903 20261129100903 60174 example.test. 6x1pHiLV5nsP1tUil17hf1U0jidSnGDQA1CS62lXmOmth2du0ngMt2O0rgQPtUAvo/0aq0nfjlHIp42Tp+4Chw==",
                "ns1.example.test. 3600 IN RRSIG AAAA 13 3 3600 20261213113903 20261129100903 60174 example.test. a6/HrGxO5eRIxcH/3RQW4+RIwVtqXwcFguU/6BXGV5kXXnOFvk8MDyh6rpNOM351R7dV3vSwtIrEU8bXbKSbVA==",
                "ns1.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. 8v/GJQx8BMDQPREQiTMKCky3JYc1nwclqrJtNmnL5Wozv3SRNPJwLZhHBzEnXm/Ieehw293svAgIgI8PZKIm1w==",
                "ns1.example.test. 300 IN NSEC ns2.example.test. A AAAA RRSIG NSEC",
                "ns2.example.test. 3600 IN A 192.0.2.54",
                "ns2.example.test. 3600 IN RRSIG A 13 3 3600 20261213113903 20261129100903 60174 example.test. BH8E0BcLf7OlYwgHM/8qfVsivLTk06Rxjdy1lH7PGdyEWGp/AyaTjT78qinXf9kaTOkA7IdXCX1de/OhVvGrEw==",
                "ns2.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. Mth8GgZry1IGPyr2Kp6eJjpP8CSlxLhBMM5P/mz0SSf5MNPyetMRcssoZ1Bm2fv9j96zaM0bQ4tPg+o73Y83Sg==",
                "ns2.example.test. 300 IN NSEC old.example.test. A RRSIG NSEC",
                "old.example.test. 3600 IN DNAME example.org.",
                "old.example.test. 3600 IN RRSIG DNAME 13 3 3600 20261213113903 20261129100903 60174 example.test. b+eAwKXr0cBwX7JFoW57D26vog7/bQ5f7/R7iOGc0g+PoBwLUtP+YG2goQD6Q8FTGpTUxTZAU1d3JQWDUIUUaA==",
                "old.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. 0IaN800bc4CXJWfCcrUCFY2iURwbUwJctwNG/7lBsSd5yFRSmvgHF+7s0lKss+f4oEO+8Nvev/OFamClehBuAA==",
                "old.example.test. 300 IN NSEC re.example.test. DNAME RRSIG NSEC",
                "re.example.test. 3600 IN NAPTR 100 50 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.test!\" .",
                "re.example.test. 3600 IN RRSIG NAPTR 13 3 3600 20261213113903 20261129100903 60174 example.test. nHO80dSaRLS2V4muZ/X4khBwfFvnOuyCEb8p6P0g5tK+et8xsl90XJYsW4RGU3reYaniBMPtiK5uSozAjPzBpw==",
                "re.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. PyripRWbEqip/1aI6fAT3s/k3aJXCrc8yqV3Fqe1GJHAo3GCxV3UMe5Mn084S3ktobJY9zSv+1toS5fuYFhfUQ==",
                "re.example.test. 300 IN NSEC sip.example.test. NAPTR RRSIG NSEC",
                "sip.example.test. 3600 IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.test.",
                "sip.example.test. 3600 IN RRSIG NAPTR 13 3 3600 20261213113903 20261129100903 60174 example.test. waha50syW7LArI3aecjTsAMfcBUQec1iZQ8Vcm1ThWDCPKrhsXyOqDTi03YucjKy9M3cqsEusSuH81AUZlnneA==",
                "sip.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. by/IqrKEIuBPFst/pjHtWbsmsjAmgQwLKth76MzQjTC4t4B4sGLTkSjrz3bSQRWoqTIqEyCh1Kjidvv87S+LHA==",
                "sip.example.test. 300 IN NSEC sub.example.test. NAPTR RRSIG NSEC",
                "sub.example.test. 3600 IN DS 12345 13 2 8D8F3A7B9B5E2C6F1A0D4E3C2B1A09F8E7D6C5B4A39281706F5E4D3C2B1A0908",
                "sub.example.test. 3600 IN RRSIG DS 13 3 3600 20261213113903 20261129100903 60174 example.test. 17Xn9Mf944tL9UoSvqllUWDhOwKQheqqN8jxQGwEeYyktYiNI8bDVwQpD09kZnrpmxfjgBbdMncZAefjRmv/aw==",
                "sub.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. Ea5CVZCFvSCTN0BnBxhWH1E9pQtMgErANNxzITggq6dtK07s+hUSo37hZzSiw7Yp3LCtI0imTbYRdOI7EN+k6w==",
                "sub.example.test. 300 IN NSEC svc.example.test. DS RRSIG NSEC",
                "svc.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. Jho9f6sDD0zcEPCFMXPnTNjxidozeFGmc2iPjac6nswaRqpjnlHXUzVvvO4vjBjo8778ZQYFKS+PZ+rEbIenFA==",
                "svc.example.test. 3600 IN RRSIG SVCB 13 3 3600 20261213113903 20261129100903 60174 example.test. FLMiIfNvOJUeO7jq+gvLSK2C8oHqZtQf8BVAG56d3SlumJebMtT4BxS1dFV7QL1UwHHyHv2x0qVgbOhNVfYQyw==",
                "svc.example.test. 300 IN NSEC unk.example.test. RRSIG NSEC SVCB",
                "svc.example.test. 3600 IN SVCB 0 pool.example.test.",
                "svc.example.test. 3600 IN SVCB 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
                "unk.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. 77suErq4cTVXhCxcJ8763BAbCR8jcaIInNACI5DnQwX1isRokE5l9Pc4hKYdi7XTyNDRVMEqoJtFsv5B7aLpvQ==",
                "unk.example.test. 3600 IN RRSIG TYPE65280 13 3 3600 20261213113903 20261129100903 60174 example.test. VwpJX+qOuttoJIKYudygvryd7riU2418LndIMCZ6QhINmTkP5PDSpN8VTX9yd1Nf3tjvUNm3xaBBSZ2lzfYckQ==",
                "unk.example.test. 300 IN NSEC www.example.test. RRSIG NSEC TYPE65280",
                "unk.example.test. 3600 IN TYPE65280 \\# 4 0A000001",
                "www.example.test. 300 IN RRSIG NSEC 13 3 300 20261213113903 20261129100903 60174 example.test. t2rhPApjwHlR9XJsKXfoNzm1dllcwsbYH1fWjltTh3NuofAJTjuury+LUzpJR4ExGEvWJjKgse9qSdzMw7QBPw==",
                "www.example.test. 3600 IN RRSIG HTTPS 13 3 3600 20261213113903 20261129100903 60174 example.test. BidWVwQcKdjvwAB0lH7eDQ7AJ+H1G60XEtv7KgIv6ZhQ1yoUYKXylfHbddFjoBFr/gPkOX1pK7+BkT6Tk63RzA==",
                "www.example.test. 300 IN NSEC example.test. RRSIG NSEC HTTPS",
                "www.example.test. 3600 IN HTTPS 2 web.example.test. mandatory=alpn,port alpn=h3 port=8443 ech=AEX+DQBBpQAgACBcEAs= key7=\"/dns-query{?dns}\"",
                "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010102 7200 3600 1209600 300",
            ]
        ),
        GoldenPacket(
            label: "axfrNSEC3",
            command: "kdig nsec3.test AXFR (over TCP)",
            transport: "tcp",
            queryHex: """
                840e01200001000000000000056e7365633304746573740000fc0001
                """,
            responseHex: """
                840e81000001001800000000056e7365633304746573740000fc0001c00c000600010000012c0021026e73c00c056164
                6d696ec00c0000000200001c2000000e10001275000000012cc00c000200010000012c0005026e73c00cc00c002e0001
                0000012c005e00020d020000012c6b1e83cd6b0bf9b5dc36056e73656333047465737400980df418f8cad141f562883d
                45eb2c29b217cdf96f192f38e34bef8890a5a77b03c74a05bcdb8f780e2ef70d1fff1acf2dc5d3de17fd02021c48de2b
                5c268c9ac00c002e00010000012c005e00060d020000012c6b1e83cd6b0bf9b5dc36056e73656333047465737400d98c
                7ef4ba7ce0490dfdc90de34c47b82a517d80579725cc3b59612e96411101a07cdebd42cf8563fc385944d606c41fdc94
                f5eb34b26fe23b049882345e6e0ec00c002e00010000012c005e00300d020000012c6b1e83cd6b0bf9b5bd46056e7365
                6333047465737400808d3f1e5574c597e1e0c04bf9056db62d5071e35e615bbe9c5e5495a8007bf8e66bbefb93603c9b
                4218bb64c33c4932e80bcc8f9b1e73c9d3a0bcd04691a087c00c002e00010000012c005e00330d020000012c6b1e83cd
                6b0bf9b5dc36056e736563330474657374007209889c05410601b4f16da54b72e983252de162a048ee454fbf7a3b1ded
                4a9997da3c171555e8646e721e2754f888ea543df6a432d961492882311d492992acc00c002e000100000000005e003b
                0d02000000006b1e83cd6b0bf9b5bd46056e73656333047465737400837e16116b7a179f3a93a0cf08eaa811953666a8
                f998aa972906398c410d090aeec2fb1f0bef46cba817aca46be3cbfd29ff870ec7c7d78f63dbba6a5f608890c00c002e
                000100000000005e003c0d02000000006b1e83cd6b0bf9b5bd46056e73656333047465737400326d09f176e09d95aff1
                35e1e63c9fe7e38e1464ab51c92aed6016654d3fb40c72fba7d344f9b38d68491a2bcf6c9046a9035bce947017261339
                540bc3dadb8cc00c003000010000012c00440100030d5a89b43fb2d2ca8b7ead3fca93e1647bca572a1be96a17329242
                5ff2f751ae8e04b0fcd173de9b8c9c25abcecb45926859cec29c6897b389abc90f68451218a8c00c003000010000012c
                00440101030d450ca38552b93118d95561d1c0b4c5093b28a7bec9c6a7d8677aa493b26e45ab513d98ab2b2aac02852f
                500709a18125463a820c0ad03e93ea003d1994e14488c00c003300010000012c000d01000000087be618b1f4fbde39c0
                0c003b0001000000000024bd460d028875b2a26230161e0d31e094e6d2f2ba41e21289c9ddb9a894acc0873c87d194c0
                0c003c00010000000000440101030d450ca38552b93118d95561d1c0b4c5093b28a7bec9c6a7d8677aa493b26e45ab51
                3d98ab2b2aac02852f500709a18125463a820c0ad03e93ea003d1994e14488026e73c00c000100010000012c0004c000
                0263c40f002e00010000012c005e00010d030000012c6b1e83cd6b0bf9b5dc36056e73656333047465737400de4feae6
                dbb10a5b4af3e047c361ff459320c79657b48a91c93c9d61a31855468ac52fb477084b99ee91dc543c6d4e6e695d23bb
                610bba00190943a94b1e086e03777777c00c000100010000012c0004c0000264c48c002e00010000012c005e00010d03
                0000012c6b1e83cd6b0bf9b5dc36056e73656333047465737400543108054d77dafea5f30e5500d96f71cb4723034e47
                d097f8699cad46b64cee4f808f75b0035015a8ad21e6d24c30b506e6a5dc05061b2574fd20aef887d726203276316d6f
                6b376e3631706a68383963663565716937666f76386a6e75757672c00c002e00010000012c005e00320d030000012c6b
                1e83cd6b0bf9b5dc36056e736563330474657374007cbe52d380ed9ef7fd1f1e957c74b1ea024c9c699e2365d7a6efc4
                9a8ffc94e5add0aefecf744e441463f6947d696091c389408398da32a118d0c251c83072d9c50a003200010000012c00
                2a01000000087be618b1f4fbde3914a8f7379380990118c74490dea233ab44ba28d9390006400000000002206c33726a
                663473306a34306868687134693366613463746238697432686d3970c00c002e00010000012c005e00320d030000012c
                6b1e83cd6b0bf9b5dc36056e7365633304746573740094e451447f8da857142fb4caa6d6e1f823b8b88b3311673092b8
                10ab769faff62477da36200f6f6a19346706119b0aa8604f3542cb95b777dec392a52a4f2b69c5cb003200010000012c
                002a01000000087be618b1f4fbde3914bb4978c09472024fd63b6d08965e26afae361a250006400000000002206e6434
                6e6867346b65383134766c6872646b3439636e68366c756e3363366835c00c002e00010000012c005e00320d03000001
                2c6b1e83cd6b0bf9b5dc36056e73656333047465737400614749b4c204568dbb1da8cc278e8a94169d81f84b547c7224
                2251a3dadd92dedd7343cff9502c40fbec47befc921e2d78248b4d1b4c140b9a62d03cd49ae7b0c68c00320001000001
                2c002c01000000087be618b1f4fbde391417c36c50f7307338a12c795da91df8fa277f7bfb00082200000000029018c0
                0c000600010000012c0021026e73c00c0561646d696ec00c0000000200001c2000000e10001275000000012c
                """,
            kdigText: [
                "nsec3.test. 300 IN SOA ns.nsec3.test. admin.nsec3.test. 2 7200 3600 1209600 300",
                "nsec3.test. 300 IN NS ns.nsec3.test.",
                "nsec3.test. 300 IN RRSIG NS 13 2 300 20261213113853 20261129100853 56374 nsec3.test. mA30GPjK0UH1Yog9RessKbIXzflvGS8440vviJClp3sDx0oFvNuPeA4u9w0f/xrPLcXT3hf9AgIcSN4rXCaMmg==",
                "nsec3.test. 300 IN RRSIG SOA 13 2 300 20261213113853 20261129100853 56374 nsec3.test. 2Yx+9Lp84EkN/ckN40xHuCpRfYBXlyXMO1lhLpZBEQGgfN69Qs+FY/w4WUTWBsQf3JT16zSyb+I7BJiCNF5uDg==",
                "nsec3.test. 300 IN RRSIG DNSKEY 13 2 300 20261213113853 20261129100853 48454 nsec3.test. gI0/HlV0xZfh4MBL+QVtti1QceNeYVu+nF5UlagAe/jma777k2A8m0IYu2TDPEky6AvMj5sec8nToLzQRpGghw==",
                "nsec3.test. 300 IN RRSIG NSEC3PARAM 13 2 300 20261213113853 20261129100853 56374 nsec3.test. cgmInAVBBgG08W2lS3LpgyUt4WKgSO5FT796Ox3tSpmX2jwXFVXoZG5yHidU+IjqVD32pDLZYUkogjEdSSmSrA==",
                "nsec3.test. 0 IN RRSIG CDS 13 2 0 20261213113853 20261129100853 48454 nsec3.test. g34WEWt6F586k6DPCOqoEZU2Zqj5mKqXKQY5jEENCQruwvsfC+9Gy6gXrKRr48v9Kf+HDsfH149j27pqX2CIkA==",
                "nsec3.test. 0 IN RRSIG CDNSKEY 13 2 0 20261213113853 20261129100853 48454 nsec3.test. Mm0J8XbgnZWv8TXh5jyf5+OOFGSrUckq7WAWZU0/tAxy+6fTRPmzjWhJGivPbJBGqQNbzpRwFyYTOVQLw9rbjA==",
                "nsec3.test. 300 IN DNSKEY 256 3 13 Wom0P7LSyot+rT/Kk+Fke8pXKhvpahcykkJf8vdRro4EsPzRc96bjJwlq87LRZJoWc7CnGiXs4mryQ9oRRIYqA==",
                "nsec3.test. 300 IN DNSKEY 257 3 13 RQyjhVK5MRjZVWHRwLTFCTsop77JxqfYZ3qkk7JuRatRPZirKyqsAoUvUAcJoYElRjqCDArQPpPqAD0ZlOFEiA==",
                "nsec3.test. 300 IN NSEC3PARAM 1 0 0 7BE618B1F4FBDE39",
                "nsec3.test. 0 IN CDS 48454 13 2 8875B2A26230161E0D31E094E6D2F2BA41E21289C9DDB9A894ACC0873C87D194",
                "nsec3.test. 0 IN CDNSKEY 257 3 13 RQyjhVK5MRjZVWHRwLTFCTsop77JxqfYZ3qkk7JuRatRPZirKyqsAoUvUAcJoYElRjqCDArQPpPqAD0ZlOFEiA==",
                "ns.nsec3.test. 300 IN A 192.0.2.99",
                "ns.nsec3.test. 300 IN RRSIG A 13 3 300 20261213113853 20261129100853 56374 nsec3.test. 3k/q5tuxCltK8+BHw2H/RZMgx5ZXtIqRyTydYaMYVUaKxS+0dwhLme6R3FQ8bU5uaV0ju2ELugAZCUOpSx4Ibg==",
                "www.nsec3.test. 300 IN A 192.0.2.100",
                "www.nsec3.test. 300 IN RRSIG A 13 3 300 20261213113853 20261129100853 56374 nsec3.test. VDEIBU132v6l8w5VANlvcctHIwNOR9CX+GmcrUa2TO5PgI91sANQFaitIebSTDC1Bual3AUGGyV0/SCu+IfXJg==",
                "2v1mok7n61pjh89cf5eqi7fov8jnuuvr.nsec3.test. 300 IN RRSIG NSEC3 13 3 300 20261213113853 20261129100853 56374 nsec3.test. fL5S04Dtnvf9Hx6VfHSx6gJMnGmeI2XXpu/Emo/8lOWt0K7+z3RORBRj9pR9aWCRw4lAg5jaMqEY0MJRyDBy2Q==",
                "2v1mok7n61pjh89cf5eqi7fov8jnuuvr.nsec3.test. 300 IN NSEC3 1 0 0 7BE618B1F4FBDE39 l3rjf4s0j40hhhq4i3fa4ctb8it2hm9p A RRSIG",
                "l3rjf4s0j40hhhq4i3fa4ctb8it2hm9p.nsec3.test. 300 IN RRSIG NSEC3 13 3 300 20261213113853 20261129100853 56374 nsec3.test. lORRRH+NqFcUL7TKptbh+CO4uIszEWcwkrgQq3afr/Ykd9o2IA9vahk0ZwYRmwqoYE81QsuVt3few5KlKk8raQ==",
                "l3rjf4s0j40hhhq4i3fa4ctb8it2hm9p.nsec3.test. 300 IN NSEC3 1 0 0 7BE618B1F4FBDE39 nd4nhg4ke814vlhrdk49cnh6lun3c6h5 A RRSIG",
                "nd4nhg4ke814vlhrdk49cnh6lun3c6h5.nsec3.test. 300 IN RRSIG NSEC3 13 3 300 20261213113853 20261129100853 56374 nsec3.test. YUdJtMIEVo27HajMJ46KlBadgfhLVHxyJCJRo9rdkt7dc0PP+VAsQPvsR778kh4teCSLTRtMFAuaYtA81JrnsA==",
                "nd4nhg4ke814vlhrdk49cnh6lun3c6h5.nsec3.test. 300 IN NSEC3 1 0 0 7BE618B1F4FBDE39 2v1mok7n61pjh89cf5eqi7fov8jnuuvr NS SOA RRSIG DNSKEY NSEC3PARAM CDS CDNSKEY",
                "nsec3.test. 300 IN SOA ns.nsec3.test. admin.nsec3.test. 2 7200 3600 1209600 300",
            ]
        ),
    ]

    static func packet(_ label: String) -> GoldenPacket {
        all.first { $0.label == label }!
    }
}

// The zone served as example.test (knotd added the DNSSEC records, CDS and CDNSKEY):
//
//     $ORIGIN example.test.
//     $TTL 3600
//     @       IN SOA  ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300
//     @       IN NS   ns1
//     @       IN NS   ns2.example.test.
//     ns1     IN A    192.0.2.53
//     ns1     IN AAAA 2001:db8::53
//     ns2     IN A    192.0.2.54
//     @       IN A    192.0.2.1
//     @       IN A    192.0.2.2
//     @       IN AAAA 2001:db8::1
//     @       IN AAAA ::ffff:192.0.2.1
//     @       IN MX   10 mail
//     @       IN MX   20 mail2.example.test.
//     mail    IN A    192.0.2.25
//     @       IN TXT  "v=spf1 -all"
//     @       IN TXT  "multi" "string\"quoted" "esc\\aped" "\001bin"
//     @       IN CAA  0 issue "letsencrypt.org"
//     @       IN CAA  128 iodef "mailto:sec@example.test"
//     _sip._udp IN SRV 10 60 5060 sip.example.test.
//     sip     IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.test.
//     re      IN NAPTR 100 50 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .
//     svc     IN SVCB 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1
//     svc     IN SVCB 0 pool.example.test.
//     @       IN HTTPS 1 . alpn=h2 ipv6hint=2001:db8::1
//     www     IN HTTPS 2 web.example.test. mandatory=alpn,port alpn=h3 port=8443 key7="/dns-query{?dns}" ech=AEX+DQBBpQAgACBcEAs=
//     sub     IN DS   12345 13 2 8D8F3A7B9B5E2C6F1A0D4E3C2B1A09F8E7D6C5B4A39281706F5E4D3C2B1A0908
//     _443._tcp IN TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6
//     alias   IN CNAME @
//     old     IN DNAME example.org.
//     1.2.0.192.in-addr IN PTR www.example.test.
//     hinfo   IN HINFO "PC" "Linux"
//     unk     IN TYPE65280 \# 4 0A000001
//
// knot.conf essentials: `server: nsid`, `mod-cookies`, `dnssec-signing: on` with policy
// `algorithm: ecdsap256sha256` (`nsec3: on`, `nsec3-iterations: 0`, `nsec3-salt-length: 8` for
// nsec3.test), and an ACL allowing AXFR from 127.0.0.1.
