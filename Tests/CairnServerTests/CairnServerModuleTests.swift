import Testing
@testable import CairnServer

@Suite struct CairnServerModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: CairnServerModule.self) == "CairnServerModule")
    }
}
