/// An array that keeps up to ``inlineCapacity`` elements in its own storage and moves to the
/// heap only past that.
///
/// A request's fields and ops are decoded into these: a put or a get carries four or five
/// fields and zero to a few ops, so decoding a message allocates nothing (two heap arrays per
/// transaction before). Elements past the inline capacity all live in one ordinary array.
public struct SmallArray<Element> {
    public static var inlineCapacity: Int { 6 }

    /// Elements `0..<inlineCount` when `spilled` is empty.
    private var inline: InlineArray<6, Element?>
    private var inlineCount: Int
    /// Every element once there are more than ``inlineCapacity``; empty (no allocation) before.
    private var spilled: [Element]

    public init() {
        inline = InlineArray(repeating: nil)
        inlineCount = 0
        spilled = []
    }

    public init(_ elements: some Sequence<Element>) {
        self.init()
        for element in elements { append(element) }
    }

    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        if minimumCapacity > Self.inlineCapacity && spilled.isEmpty {
            spilled.reserveCapacity(minimumCapacity)
        }
    }

    public mutating func append(_ element: Element) {
        if !spilled.isEmpty {
            spilled.append(element)
        } else if inlineCount < Self.inlineCapacity {
            inline[inlineCount] = element
            inlineCount += 1
        } else {
            // The first element past the inline storage: everything moves to the heap.
            var moved: [Element] = []
            moved.reserveCapacity(Swift.max(spilled.capacity, inlineCount * 2))
            for index in 0..<inlineCount {
                moved.append(inline[index]!)
                inline[index] = nil
            }
            moved.append(element)
            inlineCount = 0
            spilled = moved
        }
    }

    /// The elements as an ordinary array (allocates).
    public var array: [Element] { Array(self) }
}

extension SmallArray: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { spilled.isEmpty ? inlineCount : spilled.count }

    public subscript(position: Int) -> Element {
        get {
            if spilled.isEmpty {
                precondition(position >= 0 && position < inlineCount, "SmallArray index \(position) out of range")
                return inline[position]!
            }
            return spilled[position]
        }
        set {
            if spilled.isEmpty {
                precondition(position >= 0 && position < inlineCount, "SmallArray index \(position) out of range")
                inline[position] = newValue
            } else {
                spilled[position] = newValue
            }
        }
    }
}

extension SmallArray: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Element...) {
        self.init(elements)
    }
}

extension SmallArray: Equatable where Element: Equatable {
    public static func == (lhs: SmallArray, rhs: SmallArray) -> Bool {
        lhs.elementsEqual(rhs)
    }
}

extension SmallArray: Sendable where Element: Sendable {}

extension SmallArray: CustomStringConvertible {
    public var description: String { Array(self).description }
}
