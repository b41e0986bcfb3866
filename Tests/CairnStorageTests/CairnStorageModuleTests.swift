import Testing
@testable import CairnStorage

@Suite struct CairnStorageModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: CairnStorageModule.self) == "CairnStorageModule")
    }
}
