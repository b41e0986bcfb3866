/// as_msg header byte 1 (PROTOCOL.md §3.1).
public struct Info1: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The request contains reads.
    public static let read = Info1(rawValue: 0x01)
    /// Return all bins (reads; in operate: a READ op with an empty name).
    public static let getAll = Info1(rawValue: 0x02)
    /// Short-query hint.
    public static let shortQuery = Info1(rawValue: 0x04)
    /// Batch-index request (§8).
    public static let batch = Info1(rawValue: 0x08)
    /// Sent by XDR.
    public static let xdr = Info1(rawValue: 0x10)
    /// Metadata only ("exists"); in scan replies: the record carries no bin data.
    public static let getNoBinData = Info1(rawValue: 0x20)
    /// Duplicate-resolve reads ("consistency level all"); ignorable.
    public static let readModeAPAll = Info1(rawValue: 0x40)
    /// The client accepts a compressed (type 4) reply; ignorable.
    public static let compressResponse = Info1(rawValue: 0x80)
}

/// as_msg header byte 2 (PROTOCOL.md §3.2).
public struct Info2: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Write path.
    public static let write = Info2(rawValue: 0x01)
    /// Delete the record (with ``write``).
    public static let delete = Info2(rawValue: 0x02)
    /// Apply only if record generation == header generation.
    public static let generation = Info2(rawValue: 0x04)
    /// Apply only if header generation > record generation.
    public static let generationGT = Info2(rawValue: 0x08)
    /// Leave a tombstone (enterprise).
    public static let durableDelete = Info2(rawValue: 0x10)
    /// Fail with KEY_EXISTS if the record exists.
    public static let createOnly = Info2(rawValue: 0x20)
    /// Query hint.
    public static let relaxAPLongQuery = Info2(rawValue: 0x40)
    /// Return one result op per request op, in order.
    public static let respondAllOps = Info2(rawValue: 0x80)
}

/// as_msg header byte 3 (PROTOCOL.md §3.3).
public struct Info3: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Reply: final message of a multi-message reply.
    public static let last = Info3(rawValue: 0x01)
    /// Commit level master; ignorable.
    public static let commitMaster = Info3(rawValue: 0x02)
    /// Request: client accepts partition-done markers. Reply: this is a marker and
    /// `generation` is the partition id.
    public static let partitionDone = Info3(rawValue: 0x04)
    /// Record must exist; bins merged.
    public static let updateOnly = Info3(rawValue: 0x08)
    /// Replace all bins; create if missing.
    public static let createOrReplace = Info3(rawValue: 0x10)
    /// Record must exist; replace all bins.
    public static let replaceOnly = Info3(rawValue: 0x20)
    /// Strong-consistency read mode; ignorable.
    public static let scReadType = Info3(rawValue: 0x40)
    /// Strong-consistency read mode; ignorable.
    public static let scReadRelax = Info3(rawValue: 0x80)

    /// The bits a batch row without HAS_INFO inherits from the batch header (§8.1).
    public static let strongConsistencyReadBits: Info3 = [.scReadType, .scReadRelax]
}

/// as_msg header byte 4, "unused" in the C struct, used by transactions (PROTOCOL.md §3.4).
public struct Info4: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let mrtVerifyRead = Info4(rawValue: 0x01)
    public static let mrtRollForward = Info4(rawValue: 0x02)
    public static let mrtRollBack = Info4(rawValue: 0x04)
    /// Server-internal: monitor driven.
    public static let monitorDriven = Info4(rawValue: 0x08)
    public static let mrtOnLockingOnly = Info4(rawValue: 0x10)
    /// Mask of the two-bit requested error-detail verbosity (C client 7.5).
    public static let errorDetailVerbosityMask = Info4(rawValue: 0x60)

    /// The multi-record-transaction bits a KV server without transactions may refuse with 16.
    public static let mrtBits: Info4 = [.mrtVerifyRead, .mrtRollForward, .mrtRollBack]

    /// Requested error-detail verbosity, 0...3.
    public var errorDetailVerbosity: UInt8 { (rawValue & 0x60) >> 5 }
}
