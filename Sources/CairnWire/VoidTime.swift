import CairnModel

/// The Citrusleaf epoch, 2010-01-01T00:00:00Z, origin of every void time (PROTOCOL.md §6.6).
public enum CitrusleafEpoch {
    /// Unix seconds at the Citrusleaf epoch [COM cf_clock.h `CITRUSLEAF_EPOCH`].
    public static let unixSeconds: UInt64 = 1_262_304_000

    /// Seconds since the Citrusleaf epoch; 0 for instants before it, saturating at
    /// `UInt32.max` (year 2146).
    public static func seconds(fromUnixSeconds unixSeconds: UInt64) -> UInt32 {
        guard unixSeconds > CitrusleafEpoch.unixSeconds else { return 0 }
        return UInt32(clamping: unixSeconds - CitrusleafEpoch.unixSeconds)
    }

    /// Unix seconds of a Citrusleaf-epoch instant.
    public static func unixSeconds(fromCitrusleafSeconds seconds: UInt32) -> UInt64 {
        CitrusleafEpoch.unixSeconds + UInt64(seconds)
    }
}

/// The `record_ttl` of a write request (PROTOCOL.md §6.6).
///
/// | wire value        | meaning                                                   |
/// |-------------------|-----------------------------------------------------------|
/// | 0                 | namespace (or set) default-ttl; default 0 = never expire  |
/// | 0xFFFFFFFF (-1)   | never expire                                              |
/// | 0xFFFFFFFE (-2)   | keep the existing void time (new record: default)         |
/// | 0xFFFFFFFD (-3)   | client-side "use policy ttl": never valid on the wire     |
/// | 1 ... 315 360 000 | seconds from now (10 years); larger is PARAMETER          |
public enum RecordTTL: Sendable, Equatable {
    case namespaceDefault
    case neverExpire
    case keepExisting
    case seconds(UInt32)

    /// Longest TTL a client may ask for: 10 years.
    public static let secondsMax: UInt32 = 315_360_000
    public static let neverExpireWire: UInt32 = 0xFFFF_FFFF
    public static let keepExistingWire: UInt32 = 0xFFFF_FFFE
    /// Client-side placeholder; receiving it is PARAMETER.
    public static let clientDefaultWire: UInt32 = 0xFFFF_FFFD

    /// Interprets a write request's `record_ttl`.
    public init(wire: UInt32) throws(MessageError) {
        switch wire {
        case 0: self = .namespaceDefault
        case RecordTTL.neverExpireWire: self = .neverExpire
        case RecordTTL.keepExistingWire: self = .keepExisting
        case 1...RecordTTL.secondsMax: self = .seconds(wire)
        default: throw .ttlInvalid(wire)
        }
    }

    /// The value sent on the wire. Traps on `.seconds(0)` or above ``secondsMax`` (a caller bug).
    public var wireValue: UInt32 {
        switch self {
        case .namespaceDefault: return 0
        case .neverExpire: return RecordTTL.neverExpireWire
        case .keepExisting: return RecordTTL.keepExistingWire
        case .seconds(let seconds):
            precondition(seconds >= 1 && seconds <= RecordTTL.secondsMax, "TTL seconds out of range")
            return seconds
        }
    }
}

/// Void time: the absolute expiry instant in Citrusleaf-epoch seconds, 0 = never expires
/// (PROTOCOL.md §6.6). Replies carry it in `record_ttl`.
public enum VoidTime {
    /// The void time that is "never expires".
    public static let never: UInt32 = 0

    /// Void time for a record that lives `ttlSeconds` from `nowUnixSeconds`; 0 when
    /// `ttlSeconds` is 0 ("never"). Saturates instead of wrapping.
    public static func from(ttlSeconds: UInt32, nowUnixSeconds: UInt64) -> UInt32 {
        guard ttlSeconds != 0 else { return never }
        let now = CitrusleafEpoch.seconds(fromUnixSeconds: nowUnixSeconds)
        let (sum, overflow) = now.addingReportingOverflow(ttlSeconds)
        return overflow ? UInt32.max : sum
    }

    /// The void time a write stores (§6.4, §6.6).
    ///
    /// - Parameters:
    ///   - ttl: the request's TTL.
    ///   - defaultTTLSeconds: the namespace/set default-ttl; 0 = never expire.
    ///   - existingVoidTime: the record's current void time, nil for a new record.
    public static func resolve(
        ttl: RecordTTL,
        defaultTTLSeconds: UInt32,
        existingVoidTime: UInt32?,
        nowUnixSeconds: UInt64
    ) -> UInt32 {
        switch ttl {
        case .namespaceDefault:
            return from(ttlSeconds: defaultTTLSeconds, nowUnixSeconds: nowUnixSeconds)
        case .neverExpire:
            return never
        case .keepExisting:
            if let existingVoidTime { return existingVoidTime }
            return from(ttlSeconds: defaultTTLSeconds, nowUnixSeconds: nowUnixSeconds)
        case .seconds(let seconds):
            return from(ttlSeconds: seconds, nowUnixSeconds: nowUnixSeconds)
        }
    }

    /// Whether a record with this void time has expired: void time ≠ 0 and < now. A record stays
    /// live through its void-time second, as in Aerospike (`as_record_is_expired`).
    public static func isExpired(_ voidTime: UInt32, nowUnixSeconds: UInt64) -> Bool {
        Expiry.hasExpired(voidTime: voidTime, now: CitrusleafEpoch.seconds(fromUnixSeconds: nowUnixSeconds))
    }

    /// The TTL a client derives from a reply's void time: 0 → 0xFFFFFFFF ("never"), else
    /// `max(1, voidTime − now)` [COM cf_clock.h `cf_server_void_time_to_ttl`].
    public static func clientTTLSeconds(_ voidTime: UInt32, nowUnixSeconds: UInt64) -> UInt32 {
        guard voidTime != never else { return RecordTTL.neverExpireWire }
        let now = CitrusleafEpoch.seconds(fromUnixSeconds: nowUnixSeconds)
        return voidTime > now ? max(1, voidTime - now) : 1
    }
}
