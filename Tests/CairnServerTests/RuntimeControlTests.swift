import CairnStorage
@testable import CairnServer
import Testing

@Suite struct RuntimeControlTests {
    @Test func valuesWithUnits() {
        #expect(ValueText.seconds("90") == 90)
        #expect(ValueText.seconds("2m") == 120)
        #expect(ValueText.seconds("1d") == 86_400)
        #expect(ValueText.seconds("3h") == 10_800)
        #expect(ValueText.seconds("") == nil)
        #expect(ValueText.seconds("d") == nil)
        #expect(ValueText.seconds("-5") == nil)
        #expect(ValueText.seconds("5x") == nil)
        #expect(ValueText.bytes("256M") == 256 << 20)
        #expect(ValueText.bytes("0") == 0)
        #expect(ValueText.bytes("9999999999999999999G") == nil)
    }

    @Test func parameterNames() {
        #expect(RuntimeControl.NamespaceParameter(name: "default-ttl") == .defaultTTL)
        #expect(RuntimeControl.NamespaceParameter(name: "defrag-lwm-pct") == .defragLWMPct)
        #expect(RuntimeControl.NamespaceParameter(name: "storage-engine.defrag-lwm-pct") == .defragLWMPct)
        // Namespace-level parameters have no storage-engine. form.
        #expect(RuntimeControl.NamespaceParameter(name: "storage-engine.default-ttl") == nil)
        #expect(RuntimeControl.NamespaceParameter(name: "replication-factor") == nil)
    }

    @Test func tunablesOverrideTheConfiguredValueForEveryCopy() {
        let options = StorageOptions(namespaceName: "test", devices: [])
        let copy = options
        #expect(options.currentDefragLWMPct == 50)
        copy.tunables.set(.defragLWMPct, to: 30)
        #expect(options.currentDefragLWMPct == 30)
        #expect(options.currentFlushMaxMs == options.flushMaxMs)
    }
}
