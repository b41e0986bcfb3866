import Testing
@testable import CairnIndex

@Suite struct CairnIndexModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: CairnIndexModule.self) == "CairnIndexModule")
    }
}
