import CairnTesting
import Foundation
import Testing

@_spi(EngineInternals) @testable import CairnEngine

@Suite struct SecondaryIndexCatalogTests {
    typealias Catalog = SecondaryIndexCatalog

    func keys(_ name: String, bin: String = "m", set: String? = "s") -> Catalog.Definition {
        Catalog.Definition(name: name, setName: set, binName: bin, keyType: .string, collection: .mapkeys)
    }

    @Test func createRulesAsAerospikeHasThem() throws {
        let catalog = Catalog()
        #expect(catalog.create(keys("a")) == .created)
        #expect(catalog.create(keys("a")) == .alreadyExists)
        #expect(catalog.create(keys("a", bin: "other")) == .nameTakenByOtherDefinition)
        // The same definition under a new name renames the index.
        #expect(catalog.create(keys("b")) == .renamed(from: "a"))
        #expect(catalog.all.map(\.name) == ["b"])
        #expect(try catalog.delete(name: "a") == false)
        #expect(try catalog.delete(name: "b") == true)
        #expect(catalog.count == 0)
    }

    @Test func definitionsComeBackFromTheirFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/sindex-test.json"
        let first = Catalog()
        try first.persist(to: path)  // no file yet: empty
        #expect(first.create(keys("a")) == .created)
        #expect(first.create(keys("b", bin: "n")) == .created)
        #expect(try first.delete(name: "a"))
        let second = Catalog()
        try second.persist(to: path)
        #expect(second.all == [keys("b", bin: "n")])
        // A file that is not a definitions list is an error; a file that cannot be written
        // leaves the catalog unchanged.
        try Array("not json".utf8).withUnsafeBufferPointer { try Data(buffer: $0).write(to: URL(fileURLWithPath: path)) }
        #expect(throws: Catalog.PersistError.self) { try Catalog().persist(to: path) }
        let unwritable = Catalog()
        try unwritable.persist(to: path + "/under-a-file.json")  // a directory that cannot exist
        guard case .notPersisted = unwritable.create(keys("c")) else {
            Issue.record("expected notPersisted")
            return
        }
        #expect(unwritable.count == 0)
    }

    @Test func limitIsAerospikes() {
        let catalog = Catalog()
        for i in 0..<Catalog.countMax { #expect(catalog.create(keys("i\(i)", bin: "b\(i)")) == .created) }
        #expect(catalog.create(keys("over", bin: "over")) == .full)
    }

    @Test func findPrefersTheQuerySet() {
        let catalog = Catalog()
        _ = catalog.create(keys("any", set: nil))
        _ = catalog.create(keys("inS", set: "s2"))
        #expect(catalog.find(binName: "m", setName: "s2", collection: .mapkeys, keyType: .string)?.name == "inS")
        #expect(catalog.find(binName: "m", setName: "t", collection: .mapkeys, keyType: .string)?.name == "any")
        #expect(catalog.find(binName: "m", setName: "t", collection: .mapvalues, keyType: .string) == nil)
        #expect(catalog.find(binName: "m", setName: "t", collection: .mapkeys, keyType: .numeric) == nil)
    }
}
