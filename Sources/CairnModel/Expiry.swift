/// When a record's void time has passed: the one rule every reader of void times follows
/// (visibility, the expiry supervisor, the cold start's tallies, counts, the wire's TTLs and the
/// simulator's model).
public enum Expiry {
    /// Whether a record with `voidTime` (seconds since 2010-01-01; 0 = never) has expired at
    /// `now` (the same clock): it has once `voidTime < now`. A record stays live through its
    /// void-time second, as in Aerospike (`as_record_is_expired`).
    @inlinable @inline(__always)
    public static func hasExpired(voidTime: UInt32, now: UInt32) -> Bool {
        voidTime != 0 && voidTime < now
    }
}
