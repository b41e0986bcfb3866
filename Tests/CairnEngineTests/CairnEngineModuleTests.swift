import Testing
@testable import CairnEngine

@Suite struct CairnEngineModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: CairnEngineModule.self) == "CairnEngineModule")
    }
}
