@_spi(EngineInternals) import CairnEngine
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// `set NAME { default-ttl, stop-writes-count }` in the engine: the set's TTL applies to writes
/// that give none, and a create in a full set is refused with FORBIDDEN while updates pass.
@Suite struct SetPolicyTests {
    @Test func setDefaultTTLAppliesToItsSetOnly() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = namespaceOptions([dir.file("ttl.dat")], fileSizeBytes: 16 << 20, clock: clock)
        options.defaultTTLSeconds = 100
        options.setPolicies = ["short": SetPolicy(defaultTTLSeconds: 10), "never": SetPolicy(defaultTTLSeconds: 0)]
        let ns = try Namespace.open(options)
        let now = UInt32(clock.now() / 1000)
        #expect(try ns.put(testDigest(1), setName: "short", bins: [intBin("v", 1)]).voidTime == now + 10)
        #expect(try ns.put(testDigest(2), setName: "never", bins: [intBin("v", 2)]).voidTime == 0)
        #expect(try ns.put(testDigest(3), setName: "other", bins: [intBin("v", 3)]).voidTime == now + 100)
        #expect(try ns.put(testDigest(4), bins: [intBin("v", 4)]).voidTime == now + 100)
        // An explicit TTL still wins.
        #expect(try ns.put(testDigest(5), setName: "short", bins: [intBin("v", 5)],
                           options: WriteOptions(ttl: .seconds(50))).voidTime == now + 50)
        try ns.close()
    }

    @Test func stopWritesCountRefusesCreatesNotUpdates() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("swc.dat")], fileSizeBytes: 16 << 20)
        options.setPolicies = ["limited": SetPolicy(stopWritesCount: 5)]
        let ns = try Namespace.open(options)
        for i in 0..<5 { try ns.put(testDigest(i), setName: "limited", bins: [intBin("v", Int64(i))]) }
        #expect { try ns.put(testDigest(5), setName: "limited", bins: [intBin("v", 5)]) } throws: {
            ($0 as? EngineError)?.result == .forbidden
        }
        try ns.put(testDigest(0), setName: "limited", bins: [intBin("v", 10)])  // update: allowed
        try ns.put(testDigest(100), setName: "free", bins: [intBin("v", 1)])  // other set: no limit
        try ns.delete(testDigest(1))
        // The refusal started a recount (at most once a second); after it, the freed room is used.
        var admitted = false
        let deadline = Date().addingTimeInterval(10)
        while !admitted && Date() < deadline {
            do {
                try ns.put(testDigest(6), setName: "limited", bins: [intBin("v", 6)])
                admitted = true
            } catch {
                #expect(error.result == .forbidden)
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        #expect(admitted)
        #expect(ns.liveObjectCounts(setIDs: [ns.sets.existingID(for: "limited")!]).values.first == 5)
        try ns.close()
    }

    /// set-config's overrides (``SetTunables``): they win over the configured set policy for
    /// every copy of the options, and a limit set on a set that already holds records counts them.
    @Test func setTunablesOverrideTheConfiguredPolicy() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = namespaceOptions([dir.file("tun.dat")], fileSizeBytes: 16 << 20, clock: clock)
        options.defaultTTLSeconds = 100
        options.setPolicies = ["short": SetPolicy(defaultTTLSeconds: 10, disableEviction: true)]
        let ns = try Namespace.open(options)
        let now = UInt32(clock.now() / 1000)
        for i in 0..<3 { try ns.put(testDigest(i), setName: "open", bins: [intBin("v", Int64(i))]) }
        let openID = ns.sets.existingID(for: "open")!
        let shortID = ns.sets.id(for: "short")!
        #expect(!ns.options.setTunables.isAnySet)
        ns.options.setTunables.set(.defaultTTLSeconds, setID: shortID, to: 20)
        ns.options.setTunables.set(.disableEviction, setID: shortID, to: 0)
        ns.setLimits.recount(ns, setID: openID)
        ns.options.setTunables.set(.stopWritesCount, setID: openID, to: 4)
        #expect(options.setTunables.isAnySet)  // shared by the copy the test kept
        #expect(try ns.put(testDigest(10), setName: "short", bins: [intBin("v", 1)]).voidTime == now + 20)
        #expect(!ns.options.isEvictionDisabled(setName: "short", setID: shortID))
        #expect(ns.options.stopWritesCount(forSet: "open", setID: openID) == 4)
        try ns.put(testDigest(3), setName: "open", bins: [intBin("v", 3)])  // the 4th
        #expect { try ns.put(testDigest(4), setName: "open", bins: [intBin("v", 4)]) } throws: {
            ($0 as? EngineError)?.result == .forbidden
        }
        try ns.close()
    }
}
