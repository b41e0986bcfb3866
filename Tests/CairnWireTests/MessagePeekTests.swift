import Testing
@testable import CairnWire

@Suite struct MessagePeekTests {
    static let digest = Digest(word0: 0x0102_0304_0506_0708, word1: 0x1112_1314_1516_1718, word2: 0x2122_2324)

    @Test func findsTheNamespaceAndDigestOfAPutAndAGet() {
        let key = RecordKey(namespace: "test", setName: "demo", digest: Self.digest, userKey: .string("k"))
        for frame in [encode { $0.appendPutRequestFrame(key: key, bins: [Bin("a", .integer(1))]) },
                      encode { $0.appendGetRequestFrame(key: key) }] {
            frameBody(frame).withUnsafeBytes { body in
                let found = MessagePeek.namespaceAndDigest(body)
                #expect(found.map { Array($0.namespace) } == Array("test".utf8))
                #expect(found?.digest == Self.digest)
            }
        }
    }

    /// Every truncation of a request gives nothing or the right answer (never a read outside
    /// the body); a wrong header size, a field size running past the end or no fields give
    /// nothing.
    @Test func malformedBodiesGiveNothing() {
        let key = RecordKey(namespace: "test", setName: "demo", digest: Self.digest)
        let body = frameBody(encode { $0.appendGetRequestFrame(key: key) })
        for length in 0..<body.count {
            let cut = Array(body[0..<length])
            cut.withUnsafeBytes { bytes in
                if let found = MessagePeek.namespaceAndDigest(bytes) {
                    #expect(found.digest == Self.digest && Array(found.namespace) == Array("test".utf8), "length \(length)")
                }
            }
        }
        var badHeader = body
        badHeader[0] = 21
        badHeader.withUnsafeBytes { #expect(MessagePeek.namespaceAndDigest($0) == nil) }
        var hugeField = body
        hugeField[22] = 0x7F  // the first field's size, far beyond the body
        hugeField.withUnsafeBytes { #expect(MessagePeek.namespaceAndDigest($0) == nil) }
        var noFields = body
        noFields[18] = 0
        noFields[19] = 0
        noFields.withUnsafeBytes { #expect(MessagePeek.namespaceAndDigest($0) == nil) }
    }
}
