import Testing
@testable import CairnWire

@Suite struct TTLAndResultCodeTests {
    /// 2026-01-01T00:00:00Z.
    let now: UInt64 = 1_767_225_600

    @Test func epoch() {
        #expect(CitrusleafEpoch.unixSeconds == 1_262_304_000)
        #expect(CitrusleafEpoch.seconds(fromUnixSeconds: 1_262_304_000) == 0)
        #expect(CitrusleafEpoch.seconds(fromUnixSeconds: 1_262_304_100) == 100)
        #expect(CitrusleafEpoch.seconds(fromUnixSeconds: 5) == 0)
        #expect(CitrusleafEpoch.seconds(fromUnixSeconds: .max) == .max)
        #expect(CitrusleafEpoch.unixSeconds(fromCitrusleafSeconds: 100) == 1_262_304_100)
    }

    @Test func wireTTLValues() throws {
        #expect(try RecordTTL(wire: 0) == .namespaceDefault)
        #expect(try RecordTTL(wire: 0xFFFF_FFFF) == .neverExpire)
        #expect(try RecordTTL(wire: 0xFFFF_FFFE) == .keepExisting)
        #expect(try RecordTTL(wire: 1) == .seconds(1))
        #expect(try RecordTTL(wire: 315_360_000) == .seconds(315_360_000))
        #expect(throws: MessageError.ttlInvalid(315_360_001)) { try RecordTTL(wire: 315_360_001) }
        #expect(throws: MessageError.ttlInvalid(0xFFFF_FFFD)) { try RecordTTL(wire: 0xFFFF_FFFD) }
        #expect(MessageError.ttlInvalid(0xFFFF_FFFD).resultCode == .parameter)
        for ttl: RecordTTL in [.namespaceDefault, .neverExpire, .keepExisting, .seconds(60)] {
            #expect(try RecordTTL(wire: ttl.wireValue) == ttl)
        }
    }

    @Test func voidTimes() {
        let nowCitrusleaf = UInt32(now - 1_262_304_000)
        #expect(VoidTime.from(ttlSeconds: 0, nowUnixSeconds: now) == 0)
        #expect(VoidTime.from(ttlSeconds: 60, nowUnixSeconds: now) == nowCitrusleaf + 60)
        #expect(VoidTime.from(ttlSeconds: .max, nowUnixSeconds: now) == .max)

        #expect(VoidTime.resolve(ttl: .namespaceDefault, defaultTTLSeconds: 0, existingVoidTime: nil, nowUnixSeconds: now) == 0)
        #expect(VoidTime.resolve(ttl: .namespaceDefault, defaultTTLSeconds: 10, existingVoidTime: nil, nowUnixSeconds: now) == nowCitrusleaf + 10)
        #expect(VoidTime.resolve(ttl: .neverExpire, defaultTTLSeconds: 10, existingVoidTime: 5, nowUnixSeconds: now) == 0)
        #expect(VoidTime.resolve(ttl: .keepExisting, defaultTTLSeconds: 10, existingVoidTime: 5, nowUnixSeconds: now) == 5)
        #expect(VoidTime.resolve(ttl: .keepExisting, defaultTTLSeconds: 10, existingVoidTime: nil, nowUnixSeconds: now) == nowCitrusleaf + 10)
        #expect(VoidTime.resolve(ttl: .seconds(30), defaultTTLSeconds: 10, existingVoidTime: 5, nowUnixSeconds: now) == nowCitrusleaf + 30)

        #expect(!VoidTime.isExpired(0, nowUnixSeconds: now))
        // Live through its void-time second, expired after it (Aerospike's `as_record_is_expired`).
        #expect(!VoidTime.isExpired(nowCitrusleaf, nowUnixSeconds: now))
        #expect(VoidTime.isExpired(nowCitrusleaf - 1, nowUnixSeconds: now))
        #expect(!VoidTime.isExpired(nowCitrusleaf + 1, nowUnixSeconds: now))

        #expect(VoidTime.clientTTLSeconds(0, nowUnixSeconds: now) == 0xFFFF_FFFF)
        #expect(VoidTime.clientTTLSeconds(nowCitrusleaf + 90, nowUnixSeconds: now) == 90)
        #expect(VoidTime.clientTTLSeconds(nowCitrusleaf - 90, nowUnixSeconds: now) == 1)
    }

    @Test func resultCodes() {
        let spot: [(ResultCode, UInt8, String)] = [
            (.ok, 0, "OK"), (.keyNotFound, 2, "KEY_NOT_FOUND"), (.parameter, 4, "PARAMETER"), (.keyExists, 5, "KEY_EXISTS"),
            (.unsupportedFeature, 16, "UNSUPPORTED_FEATURE"), (.namespaceNotFound, 20, "NAMESPACE_NOT_FOUND"),
            (.binName, 21, "BIN_NAME"), (.enterpriseOnly, 25, "ENTERPRISE_ONLY"), (.filteredOut, 27, "FILTERED_OUT"),
            (.securityNotEnabled, 52, "SECURITY_NOT_ENABLED"), (.udfError, 100, "UDF_ERROR"),
            (.batchMaxRequestsExceeded, 151, "BATCH_MAX_REQUESTS_EXCEEDED"), (.indexNotFound, 201, "INDEX_NOT_FOUND"),
            (.queryGeneric, 213, "QUERY_GENERIC"),
        ]
        for (code, raw, name) in spot {
            #expect(code.rawValue == raw)
            #expect(code.name == name)
            #expect(ResultCode(rawValue: raw) == code)
        }
        #expect(ResultCode(rawValue: 30) == nil)
        #expect(Set(ResultCode.allCases.map(\.name)).count == ResultCode.allCases.count)
        #expect(ResultCode.keyNotFound.description == "KEY_NOT_FOUND(2)")
    }
}
