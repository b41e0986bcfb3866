import Testing
@testable import CairnConfig

@Suite struct CairnConfigModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: CairnConfigModule.self) == "CairnConfigModule")
    }
}
