import Testing
@testable import CairnWire

@Suite struct CairnWireModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: CairnWireModule.self) == "CairnWireModule")
    }
}
