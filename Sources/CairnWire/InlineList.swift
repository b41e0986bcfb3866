/// A list that keeps up to ``inlineCapacity`` elements inline, in the value itself, and moves
/// them all to an array only beyond that: a message's fields and ops (three to five fields and
/// at most a few ops in nearly every request) are decoded without a heap allocation.
///
/// Invariant: `spill` is empty while `count <= inlineCapacity` (the elements are in `storage`);
/// beyond that `spill` holds every element and `storage` is unused.
public struct InlineList<Element>: RandomAccessCollection, ExpressibleByArrayLiteral {
    /// Elements kept without allocating.
    public static var inlineCapacity: Int { 6 }

    @usableFromInline var storage: InlineArray<6, Element?>
    @usableFromInline var spill: [Element]
    public private(set) var count: Int

    public init() {
        storage = InlineArray(repeating: nil)
        spill = []
        count = 0
    }

    public init(arrayLiteral elements: Element...) {
        self.init(elements)
    }

    public init<S: Sequence>(_ elements: S) where S.Element == Element {
        self.init()
        for element in elements { append(element) }
    }

    public mutating func append(_ element: Element) {
        if count < Self.inlineCapacity {
            storage[count] = element
        } else {
            if count == Self.inlineCapacity {
                spill.reserveCapacity(count * 2)
                for i in 0..<count { spill.append(storage[i]!) }
                storage = InlineArray(repeating: nil)
            }
            spill.append(element)
        }
        count += 1
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> Element {
        precondition(position >= 0 && position < count, "index \(position) outside a list of \(count)")
        return spill.isEmpty ? storage[position]! : spill[position]
    }
}

extension InlineList: Sendable where Element: Sendable {}

extension InlineList: Equatable where Element: Equatable {
    public static func == (lhs: InlineList, rhs: InlineList) -> Bool {
        lhs.elementsEqual(rhs)
    }
}

extension InlineList: CustomStringConvertible {
    public var description: String { Array(self).description }
}
