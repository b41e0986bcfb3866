import Synchronization

/// A reference set once and then read by any thread without a lock (an acquire load): for
/// objects wired up after construction and used on every hot-path call (a device's writer and
/// reader). Publishing twice is a programming error and traps.
public final class PublishedOnce<Value: AnyObject & Sendable>: Sendable {
    /// The retained object's address, or 0 before `publish`.
    @usableFromInline let address = Atomic<UInt>(0)

    public init() {}

    deinit {
        let raw = address.load(ordering: .acquiring)
        if raw != 0 { Unmanaged<Value>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!).release() }
    }

    /// Makes `value` visible to every later `value` read. Traps when already published.
    public func publish(_ value: Value) {
        let raw = UInt(bitPattern: Unmanaged.passRetained(value).toOpaque())
        let (exchanged, _) = address.compareExchange(expected: 0, desired: raw, ordering: .releasing)
        precondition(exchanged, "PublishedOnce<\(Value.self)> published twice")
    }

    /// Whether `publish` has run (an acquire load).
    @inlinable @inline(__always)
    public var isPublished: Bool { address.load(ordering: .acquiring) != 0 }

    /// Runs `body` with the published object borrowed: no retain and release, which for an
    /// object every service thread reaches on every transaction would move its cache line
    /// between the cores (see ``Unretained``). The cell keeps the object for its own life.
    /// Traps before `publish`.
    @inlinable @inline(__always)
    public func withPublished<Result>(_ body: (Value) throws -> Result) rethrows -> Result {
        let raw = address.load(ordering: .acquiring)
        precondition(raw != 0, "PublishedOnce<\(Value.self)> read before it was published")
        return try Unmanaged<Value>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!)._withUnsafeGuaranteedRef(body)
    }

    /// The published object, or nil before `publish`.
    @inline(__always)
    public var value: Value? {
        let raw = address.load(ordering: .acquiring)
        guard raw != 0 else { return nil }
        return Unmanaged<Value>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!).takeUnretainedValue()
    }
}
