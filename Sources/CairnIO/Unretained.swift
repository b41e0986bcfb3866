/// A reference that does not keep its object alive, for objects every service thread shares and
/// that outlive every value holding this (the server's context, a namespace, a device and its
/// writer): copying it, storing it in a transaction's values and calling through it cost no
/// reference-count operation.
///
/// Why: a retain or release is an atomic write to the object's header. For an object both
/// service threads use on every transaction that write moves the cache line between the cores
/// each time (about 30 ns on the 2-vCPU VM against 6 ns for an object only one thread touches;
/// `hack/bench-allocs --arc` counts these operations per transaction).
///
/// The holder of the strong reference must keep the object alive for as long as any
/// `Unretained` of it is used. Debug builds check that on every access, with a weak reference:
/// a use after the object is gone traps there, naming the type, instead of reading freed memory.
///
/// Inlinable, so that other modules specialise it: unspecialised, every call looked up the
/// generic metadata of its closure's result at run time (`swift_getGenericMetadata`, 6% of an
/// engine put in `hack/bench-micro`).
@frozen
public struct Unretained<Object: AnyObject & Sendable>: @unchecked Sendable {
    @usableFromInline let unmanaged: Unmanaged<Object>
    #if DEBUG
    @usableFromInline weak var alive: Object?
    #endif

    @inlinable @inline(__always)
    public init(_ object: Object) {
        unmanaged = .passUnretained(object)
        #if DEBUG
        alive = object
        #endif
    }

    /// Runs `body` with the object borrowed (+0): nothing in `body`'s use of it, nor of the
    /// stored references reached through it, retains it. This closure form is the one that
    /// holds: an accessor that returns or yields the object is a retain again once it is bound
    /// to a name (measured with `hack/bench-allocs --arc`).
    @inlinable @inline(__always) @discardableResult
    public func with<Result>(_ body: (Object) throws -> Result) rethrows -> Result {
        #if DEBUG
        precondition(alive != nil, "Unretained<\(Object.self)> used after its object was freed")
        #endif
        return try unmanaged._withUnsafeGuaranteedRef(body)
    }
}
