import Testing

@testable import CairnWire

@Suite struct InlineListTests {
    /// Every length across the inline capacity keeps order, count and equality with an array,
    /// whether built by appends, from a sequence or from a literal.
    @Test func keepsOrderAcrossTheInlineCapacity() {
        for length in 0...(InlineList<Int>.inlineCapacity * 3) {
            let expected = Array(0..<length).map { $0 * 7 }
            var appended = InlineList<Int>()
            for value in expected { appended.append(value) }
            #expect(Array(appended) == expected)
            #expect(appended.count == length)
            #expect(InlineList(expected) == appended)
            if length > 0 { #expect(appended[length - 1] == expected[length - 1]) }
        }
        let literal: InlineList<Int> = [1, 2, 3, 4, 5, 6, 7]
        #expect(Array(literal) == [1, 2, 3, 4, 5, 6, 7])
        #expect(literal != [1, 2, 3, 4, 5, 6])
    }

    /// A message with more fields and ops than fit inline decodes all of them, in order.
    @Test func decodesMessagesBeyondTheInlineCapacity() throws {
        var body: [UInt8] = [22, 1, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 12)
        let fieldCount = 9, opCount = 8
        body += [UInt8(fieldCount >> 8), UInt8(fieldCount & 0xFF), UInt8(opCount >> 8), UInt8(opCount & 0xFF)]
        for i in 0..<fieldCount { body += [0, 0, 0, 2, 200, UInt8(i)] }
        for i in 0..<opCount { body += [0, 0, 0, 6, 1, 0, 0, 2, 0x62, 0x30 + UInt8(i)] }
        let message = try body.withUnsafeBytes { raw in try Message.decode(body: raw) }
        #expect(message.fields.count == fieldCount)
        #expect(message.ops.count == opCount)
        body.withUnsafeBytes { raw in
            #expect(message.fields.map { raw[$0.dataRange.lowerBound] } == (0..<fieldCount).map(UInt8.init))
            #expect(message.ops.map { raw[$0.nameRange.upperBound - 1] } == (0..<opCount).map { 0x30 + UInt8($0) })
        }
    }
}
