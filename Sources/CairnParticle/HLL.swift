import Foundation

/// HyperLogLog operations (Aerospike's HLL_READ = 15 and HLL_MODIFY = 16 ops) on HLL bins
/// (particle type 18), byte-compatible with Aerospike's HyperMinHash layout:
///
///     u8       flags            0
///     u8       n_index_bits     4 ... 16 (2^n registers)
///     u8       n_minhash_bits   0, or 4 ... 51 (index + minhash ≤ 64)
///     u64 LE   cache            last count from refresh_count, 0 when unknown
///     bytes    registers        (6 + n_minhash_bits) bits each, packed big-endian
///
/// An element is hashed as its msgpack encoding in Aerospike's dialect (minimal, strings and
/// blobs with their type byte) with MurmurHash3 x64-128, seed 0: the first 64-bit half (little
/// endian) gives the register (low index bits) and the minhash bits (the next bits), the second
/// half's trailing zero count + 1 the HLL value. A register holds `hll value << minhash bits |
/// minhash`, and keeps the largest. Counts use Ertl's improved estimator; intersections and
/// similarity use HyperMinHash when the sketches have minhash bits, inclusion–exclusion
/// otherwise.

/// HLL operation commands.
public enum HLLCommand: Int, Sendable, CaseIterable, PayloadCommand {
    case initialize = 0, add = 1, setUnion = 2, refreshCount = 3, fold = 4
    case getCount = 50, getUnion = 51, getUnionCount = 52, getIntersectCount = 53, getSimilarity = 54
    case describe = 55, mayContain = 56

    public var isWrite: Bool { rawValue < 50 }

    var allowedFlags: UInt64 {
        switch self {
        case .initialize: HLLWriteFlags.createOnly | HLLWriteFlags.updateOnly | HLLWriteFlags.noFail
        case .add: HLLWriteFlags.createOnly | HLLWriteFlags.noFail
        case .setUnion: HLLWriteFlags.createOnly | HLLWriteFlags.updateOnly | HLLWriteFlags.allowFold | HLLWriteFlags.noFail
        default: 0
        }
    }

    var arity: ClosedRange<Int> {
        switch self {
        case .initialize: 0...3
        case .add: 1...4
        case .setUnion: 1...2
        case .refreshCount, .getCount, .describe: 0...0
        case .fold, .getUnion, .getUnionCount, .getIntersectCount, .getSimilarity, .mayContain: 1...1
        }
    }
}

/// HLL write flags (policy).
public enum HLLWriteFlags {
    public static let createOnly: UInt64 = 1
    public static let updateOnly: UInt64 = 2
    public static let noFail: UInt64 = 4
    public static let allowFold: UInt64 = 8
}

/// An HLL sketch in Aerospike's layout.
public struct HLLSketch: Sendable, Equatable {
    public private(set) var bytes: [UInt8]

    static let headerSize = 11
    static let hllBits = 6
    public static let indexBitsRange: ClosedRange<Int> = 4...16
    public static let minhashBitsMax = 64 - hllBits - 7

    public var indexBits: Int { Int(bytes[1]) }
    public var minhashBits: Int { Int(bytes[2]) }
    var registerCount: Int { 1 << indexBits }
    var registerBits: Int { Self.hllBits + minhashBits }

    /// The cached count (refresh_count), 0 when unknown.
    var cache: UInt64 {
        get { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[3 + $1]) << UInt64(8 * $1) } }
        set { for i in 0..<8 { bytes[3 + i] = UInt8(truncatingIfNeeded: newValue >> UInt64(8 * i)) } }
    }

    /// An empty sketch.
    public init(indexBits: Int, minhashBits: Int) {
        bytes = [0, UInt8(indexBits), UInt8(minhashBits)] + [UInt8](repeating: 0, count: 8 + Self.registersSize(indexBits, minhashBits))
    }

    /// A sketch from stored or sent bytes; nil when they are not a valid sketch.
    public init?(validating bytes: [UInt8]) {
        guard bytes.count >= Self.headerSize, bytes[0] == 0,
            Self.validCombination(Int(bytes[1]), Int(bytes[2])),
            bytes.count == Self.headerSize + Self.registersSize(Int(bytes[1]), Int(bytes[2]))
        else { return nil }
        self.bytes = bytes
    }

    static func registersSize(_ indexBits: Int, _ minhashBits: Int) -> Int {
        ((hllBits + minhashBits) * (1 << indexBits) + 7) / 8
    }

    static func validIndexBits(_ n: Int) -> Bool { indexBitsRange.contains(n) }
    static func validMinhashBits(_ n: Int) -> Bool { n == 0 || (4...minhashBitsMax).contains(n) }
    static func validCombination(_ i: Int, _ m: Int) -> Bool { validIndexBits(i) && validMinhashBits(m) && i + m <= 64 }

    /// Register `r`'s place: its first byte, how many bytes it touches, and the shift that
    /// left-aligns it in a 64-bit word of those bytes (a register is at most 57 bits and starts
    /// at most 7 bits into its first byte, so 8 bytes always hold it).
    private func place(_ r: Int) -> (first: Int, count: Int, shift: UInt64) {
        let bit = r * registerBits
        let inByte = bit & 7
        return (Self.headerSize + bit >> 3, (inByte + registerBits + 7) >> 3, UInt64(inByte))
    }

    func register(_ r: Int) -> UInt64 {
        let (first, count, shift) = place(r)
        var word: UInt64 = 0
        for i in 0..<count { word |= UInt64(bytes[first + i]) << UInt64(56 - 8 * i) }
        return (word << shift) >> UInt64(64 - registerBits)
    }

    mutating func setRegister(_ r: Int, _ value: UInt64) {
        let (first, count, shift) = place(r)
        let width = UInt64(64 - registerBits)
        let mask = ((UInt64.max >> width) << width) >> shift
        let bits = (value << width) >> shift
        for i in 0..<count {
            let down = UInt64(56 - 8 * i)
            let m = UInt8(truncatingIfNeeded: mask >> down)
            bytes[first + i] = bytes[first + i] & ~m | UInt8(truncatingIfNeeded: bits >> down) & m
        }
    }

    func hllValue(_ register: UInt64) -> Int { Int(truncatingIfNeeded: UInt8(truncatingIfNeeded: register >> UInt64(minhashBits))) }

    /// The register and value an element's msgpack bytes map to.
    func hash(_ element: [UInt8]) -> (register: Int, value: UInt64) {
        let (h1, h2) = murmurHash3x64_128(element)
        let register = Int(h1 & UInt64(registerCount - 1))
        let minhashMask: UInt64 = minhashBits == 0 ? 0 : (1 << UInt64(minhashBits)) - 1
        let minhash = (h1 >> UInt64(indexBits)) & minhashMask
        let hll = UInt64(h2 == 0 ? 64 : h2.trailingZeroBitCount) + 1
        return (register, hll << UInt64(minhashBits) | minhash)
    }

    /// Adds an element; true when a register changed.
    @discardableResult
    public mutating func add(_ element: [UInt8]) -> Bool {
        let (r, value) = hash(element)
        guard register(r) < value else { return false }
        setRegister(r, value)
        cache = 0
        return true
    }

    func mayContain(_ element: [UInt8]) -> Bool {
        let (r, value) = hash(element)
        return value <= register(r)
    }

    /// Merges `other` (with at least as many index bits) into this sketch.
    mutating func union(_ other: HLLSketch) {
        let mask = registerCount - 1
        if minhashBits == 0 {
            for r in 0..<other.registerCount {
                let v1 = other.hllValue(other.register(r))
                if hllValue(register(r & mask)) < v1 { setRegister(r & mask, UInt64(v1)) }
            }
            return
        }
        for r in 0..<other.registerCount {
            let v1 = other.register(r)
            if register(r & mask) < v1 { setRegister(r & mask, v1) }
        }
        cache = 0
    }

    mutating func intersectOne(_ other: HLLSketch) {
        let mask = registerCount - 1
        for r in 0..<other.registerCount {
            let v0 = register(r & mask)
            setRegister(r & mask, v0 == other.register(r) ? v0 : 0)
        }
    }

    var usedRegisters: Int { (0..<registerCount).count { register($0) != 0 } }

    /// Aerospike's test: any non-zero byte among the first 2^index_bits register bytes.
    var hasData: Bool { bytes[Self.headerSize..<(Self.headerSize + registerCount)].contains { $0 != 0 } }

    /// Ertl's improved raw estimator (arXiv 1702.01284, algorithm 6), or the cached count.
    public var estimatedCount: UInt64 {
        let cached = cache
        if cached != 0 { return cached }
        let m = Double(registerCount)
        var c = [Int](repeating: 0, count: 65)
        for r in 0..<registerCount { c[hllValue(register(r))] += 1 }
        var z = m * Self.tau(Double(c[64]) / m)
        for k in stride(from: 64, to: 0, by: -1) { z = 0.5 * (z + Double(c[k])) }
        z += m * Self.sigma(Double(c[0]) / m)
        return Self.roundedCount(alpha * m * m / z)
    }

    static func roundedCount(_ x: Double) -> UInt64 {
        let r = x.rounded(.toNearestOrAwayFromZero)
        guard r.isFinite, r >= 0 else { return 0 }
        return r >= 18446744073709551615.0 ? .max : UInt64(r)
    }

    var alpha: Double {
        switch indexBits {
        case 4: 0.673
        case 5: 0.697
        case 6: 0.709
        default: 0.7213 / (1.0 + 1.079 / Double(registerCount))
        }
    }

    static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var v = x, y = 1.0, z = 1 - x, previous = 0.0
        repeat {
            v = v.squareRoot()
            previous = z
            y *= 0.5
            z -= (1 - v) * (1 - v) * y
        } while previous != z
        return z / 3
    }

    static func sigma(_ x: Double) -> Double {
        if x == 1 { return .infinity }
        var v = x, y = 1.0, z = x, previous = 0.0
        repeat {
            v *= v
            previous = z
            z += v * y
            y += y
        } while previous != z
        return z
    }

    /// The index and minhash bits a set of sketches combine into: the fewest index bits, and
    /// minhash bits only when all agree.
    static func template(_ sketches: [HLLSketch]) -> (indexBits: Int, minhashBits: Int) {
        var index = sketches[0].indexBits
        var minhash = sketches[0].minhashBits
        for s in sketches.dropFirst() {
            index = min(index, s.indexBits)
            if minhash != 0 && minhash != s.minhashBits { minhash = 0 }
        }
        return (index, minhash)
    }

    static func union(_ sketches: [HLLSketch]) -> HLLSketch {
        let t = template(sketches)
        var u = HLLSketch(indexBits: t.indexBits, minhashBits: t.minhashBits)
        for s in sketches { u.union(s) }
        return u
    }

    static func intersectCount(_ sketches: [HLLSketch]) -> UInt64 {
        if template(sketches).minhashBits == 0 { return inclusionExclusionIntersect(sketches) }
        let j = similarity(sketches)
        if j.isNaN { return 0 }
        return roundedCount(Double(union(sketches).estimatedCount) * j)
    }

    private static func inclusionExclusionIntersect(_ s: [HLLSketch]) -> UInt64 {
        let cu = union(s).estimatedCount
        var sum: UInt64 = 0
        for sketch in s {
            let (total, overflow) = sum.addingReportingOverflow(sketch.estimatedCount)
            if overflow { sum = .max; break }
            sum = total
        }
        if s.count == 2 { return sum > cu ? sum - cu : 0 }
        let pairs = intersectCount([s[0], s[1]]) &+ intersectCount([s[1], s[2]]) &+ intersectCount([s[0], s[2]])
        let result = Int64(bitPattern: cu) &- (Int64(bitPattern: sum) &- Int64(bitPattern: pairs))
        return result < 0 ? 0 : UInt64(result)
    }

    /// HyperMinHash's Jaccard estimate (arXiv 1710.08436), or intersect / union without minhash
    /// bits. NaN when every sketch is empty.
    static func similarity(_ sketches: [HLLSketch]) -> Double {
        let t = template(sketches)
        if t.minhashBits == 0 {
            return Double(inclusionExclusionIntersect(sketches)) / Double(union(sketches).estimatedCount)
        }
        let withData = sketches.count { $0.hasData }
        if withData < sketches.count { return withData > 0 ? 0 : .nan }
        let unionUsed = union(sketches).usedRegisters
        var agg = HLLSketch(indexBits: t.indexBits, minhashBits: t.minhashBits)
        agg.union(sketches[0])
        for s in sketches.dropFirst() { agg.intersectOne(s) }
        let intersectUsed = agg.usedRegisters
        var collisions = 0.0
        if sketches.count == 2 {
            collisions = expectedCollisions(indexBits: t.indexBits, minhashBits: t.minhashBits,
                                            sketches[0].estimatedCount, sketches[1].estimatedCount)
        }
        return max(0, (Double(intersectUsed) - collisions) / Double(unionUsed))
    }

    private static func expectedCollisions(indexBits: Int, minhashBits: Int, _ card0: UInt64, _ card1: UInt64) -> Double {
        let m = Double(1 << indexBits)
        let buckets = 1 << hllBits
        var cp = 0.0
        for i in 1...buckets {
            var b1 = i == buckets ? 0.0 : pow(2, Double(-i))
            var b2 = pow(2, Double(-i + 1))
            b1 /= m
            b2 /= m
            let x = pow(1 - b1, Double(card0)) - pow(1 - b2, Double(card0))
            let y = pow(1 - b1, Double(card1)) - pow(1 - b2, Double(card1))
            cp += x * y
        }
        return cp * m / pow(2, Double(minhashBits))
    }
}

/// MurmurHash3 x64 128-bit, seed 0: the two 64-bit halves.
func murmurHash3x64_128(_ key: [UInt8]) -> (UInt64, UInt64) {
    let c1: UInt64 = 0x87c3_7b91_1142_53d5
    let c2: UInt64 = 0x4cf5_ad43_2745_937f
    func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { x << r | x >> (64 - r) }
    func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
    func load(_ at: Int, _ count: Int) -> UInt64 {
        (0..<count).reduce(UInt64(0)) { $0 | UInt64(key[at + $1]) << UInt64(8 * $1) }
    }
    var h1: UInt64 = 0, h2: UInt64 = 0
    let blocks = key.count / 16
    for i in 0..<blocks {
        var k1 = load(i * 16, 8), k2 = load(i * 16 + 8, 8)
        k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
        k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
    }
    let tail = blocks * 16
    let rest = key.count & 15
    if rest > 8 {
        var k2 = load(tail + 8, rest - 8)
        k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
    }
    if rest > 0 {
        var k1 = load(tail, min(rest, 8))
        k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
    }
    h1 ^= UInt64(key.count); h2 ^= UInt64(key.count)
    h1 &+= h2; h2 &+= h1
    h1 = fmix(h1); h2 = fmix(h2)
    h1 &+= h2; h2 &+= h1
    return (h1, h2)
}

/// Runs HLL operations.
public enum HLLExecutor {
    /// Runs `payload` on `bin` (`.bytes` holds an HLL particle); `isWrite` tells whether it came
    /// as HLL_MODIFY. A read on a missing bin returns nothing.
    public static func execute(payload: [UInt8], bin: BlobBin, isWrite: Bool) throws(CDTError) -> BlobOutcome {
        if !isWrite, bin == .missing { return BlobOutcome() }
        var old: HLLSketch?
        switch bin {
        case .otherType: throw CDTError(CDTError.binTypeError, "HLL op on a bin that is not an HLL")
        case .bytes(let b):
            guard let sketch = HLLSketch(validating: b) else { throw CDTError(1, "stored HLL is invalid") }
            old = sketch
        case .missing: old = nil
        }
        let op = try HLLOperation.decode(payload, isWrite: isWrite)
        if !isWrite { return try read(op, old!) }
        let noFail = op.flags & HLLWriteFlags.noFail != 0
        if old != nil, op.flags & HLLWriteFlags.createOnly != 0 {
            if noFail { return BlobOutcome() }
            throw CDTError(BitExecutor.binExists, "bin exists (CREATE_ONLY)")
        }
        if old == nil, op.flags & HLLWriteFlags.updateOnly != 0 {
            if noFail { return BlobOutcome() }
            throw CDTError(BitExecutor.binNotFound, "HLL bin missing (UPDATE_ONLY)")
        }
        return try modify(op, old)
    }

    private static func modify(_ op: HLLOperation, _ old: HLLSketch?) throws(CDTError) -> BlobOutcome {
        switch op.command {
        case .initialize, .add:
            var index = op.indexBits, minhash = op.minhashBits
            if let old {
                if op.command == .add || index == nil { index = old.indexBits }
                if op.command == .add || minhash == nil { minhash = old.minhashBits }
            }
            guard let index else { throw .notApplicable("cannot create an HLL without index bits") }
            let m = minhash ?? 0
            guard HLLSketch.validCombination(index, m) else { throw .notApplicable("index \(index) and minhash \(m) bits") }
            var sketch = op.command == .add ? (old ?? HLLSketch(indexBits: index, minhashBits: m)) : HLLSketch(indexBits: index, minhashBits: m)
            guard op.command == .add else { return BlobOutcome(newValue: sketch.bytes) }
            let added = op.elements.count { sketch.add($0) }
            return BlobOutcome(newValue: sketch.bytes, result: .int(Int64(added)))
        case .setUnion:
            if let old, op.flags & HLLWriteFlags.allowFold == 0 {
                let t = HLLSketch.template(op.sketches)
                let elementMinhash = op.sketches.dropFirst().allSatisfy { $0.minhashBits == op.sketches[0].minhashBits }
                    ? op.sketches[0].minhashBits : 0
                if old.indexBits > t.indexBits { throw .notApplicable("set_union cannot reduce index bits") }
                if old.minhashBits != 0 && old.minhashBits != elementMinhash {
                    throw .notApplicable("set_union cannot reduce minhash bits to zero")
                }
            }
            let all = op.sketches + (old.map { [$0] } ?? [])
            return BlobOutcome(newValue: HLLSketch.union(all).bytes)
        case .refreshCount:
            guard var sketch = old else { throw CDTError(BitExecutor.binNotFound, "refresh_count on a missing bin") }
            let count = sketch.estimatedCount
            sketch.cache = count
            return BlobOutcome(newValue: sketch.bytes, result: .int(Int64(bitPattern: count)))
        case .fold:
            guard let old else { throw CDTError(BitExecutor.binNotFound, "fold on a missing bin") }
            guard old.minhashBits == 0 else { throw .notApplicable("cannot fold an HLL with minhash bits") }
            // An unset (-1) index bit count is 255 to Aerospike: always more than the bin has.
            guard let index = op.indexBits, old.indexBits >= index else { throw .notApplicable("fold to more index bits") }
            if index == old.indexBits { return BlobOutcome(newValue: old.bytes) }
            var folded = HLLSketch(indexBits: index, minhashBits: 0)
            folded.union(old)
            return BlobOutcome(newValue: folded.bytes)
        default:
            return BlobOutcome()
        }
    }

    private static func read(_ op: HLLOperation, _ sketch: HLLSketch) throws(CDTError) -> BlobOutcome {
        let all = op.sketches + [sketch]
        switch op.command {
        case .getCount:
            return BlobOutcome(result: .int(Int64(bitPattern: sketch.estimatedCount)))
        case .getUnion:
            return BlobOutcome(result: .blob(HLLSketch.particleType, Bytes(HLLSketch.union(all).bytes)))
        case .getUnionCount:
            return BlobOutcome(result: .int(Int64(bitPattern: HLLSketch.union(all).estimatedCount)))
        case .getIntersectCount, .getSimilarity:
            let first = op.sketches[0].minhashBits
            if op.sketches.count > 2 && (sketch.minhashBits == 0 || sketch.minhashBits != first) {
                throw .notApplicable("cannot intersect more than 2 HLLs with the bin's minhash bits")
            }
            if op.command == .getIntersectCount {
                return BlobOutcome(result: .int(Int64(bitPattern: HLLSketch.intersectCount(all))))
            }
            return BlobOutcome(result: .double(HLLSketch.similarity(all)))
        case .describe:
            return BlobOutcome(result: .list([.int(Int64(sketch.indexBits)), .int(Int64(sketch.minhashBits))]))
        case .mayContain:
            return BlobOutcome(result: .int(op.elements.allSatisfy { sketch.mayContain($0) } ? 1 : 0))
        default:
            return BlobOutcome()
        }
    }
}

extension HLLSketch {
    /// Aerospike's HLL particle type.
    public static let particleType: UInt8 = 18
}

/// A decoded HLL operation.
struct HLLOperation {
    var command: HLLCommand
    var indexBits: Int?
    var minhashBits: Int?
    var flags: UInt64 = 0
    /// add / may_contain: each element's msgpack encoding.
    var elements: [[UInt8]] = []
    /// set_union and the union / intersect reads: the sketches sent.
    var sketches: [HLLSketch] = []

    static func decode(_ payload: [UInt8], isWrite: Bool) throws(CDTError) -> HLLOperation {
        let (command, args): (HLLCommand, [Value]) = try decodeCommand(payload, isWrite: isWrite, family: "HLL")
        var op = HLLOperation(command: command)
        var i = 0
        func next() -> Value? {
            guard i < args.count else { return nil }
            defer { i += 1 }
            return args[i]
        }
        switch command {
        case .initialize:
            if let v = next() { op.indexBits = try indexBits(v) }
            if let v = next() { op.minhashBits = try op.minhash(v) }
            if let v = next() { try op.parseFlags(v) }
        case .add:
            op.elements = try elements(next()!)
            if let v = next() { op.indexBits = try indexBits(v) }
            if let v = next() { op.minhashBits = try op.minhash(v) }
            if let v = next() { try op.parseFlags(v) }
        case .setUnion:
            op.sketches = try sketches(next()!)
            if let v = next() { try op.parseFlags(v) }
        case .fold:
            op.indexBits = try indexBits(next()!)
        case .getUnion, .getUnionCount:
            op.sketches = try sketches(next()!)
        case .getIntersectCount, .getSimilarity:
            op.sketches = try sketches(next()!)
            if op.sketches.count > 2 {
                let m = op.sketches[0].minhashBits
                guard m != 0, op.sketches.allSatisfy({ $0.minhashBits == m }) else {
                    throw .param("intersect of more than 2 HLLs needs equal, non-zero minhash bits")
                }
            }
        case .mayContain:
            op.elements = try elements(next()!)
        case .refreshCount, .getCount, .describe:
            break
        }
        return op
    }

    private static func int(_ v: Value) throws(CDTError) -> Int64 {
        guard case .int(let i) = v else { throw .param("HLL op argument \(v) is not an integer") }
        return i
    }

    /// -1 leaves the index bits unset.
    private static func indexBits(_ v: Value) throws(CDTError) -> Int? {
        let n = try int(v)
        if n == -1 { return nil }
        guard HLLSketch.indexBitsRange.contains(Int(truncatingIfNeeded: n)) else { throw .param("index bits \(n)") }
        return Int(n)
    }

    private func minhash(_ v: Value) throws(CDTError) -> Int? {
        let n = try Self.int(v)
        if n == -1 { return nil }
        guard n >= 0, n <= 64, HLLSketch.validMinhashBits(Int(n)) else { throw .param("minhash bits \(n)") }
        if let indexBits, indexBits + Int(n) > 64 { throw .param("index and minhash bits above 64") }
        return Int(n)
    }

    private mutating func parseFlags(_ v: Value) throws(CDTError) {
        flags = UInt64(bitPattern: try Self.int(v))
        guard flags & ~command.allowedFlags == 0 else { throw .param("bad HLL flags \(flags) for \(command)") }
        guard flags & (HLLWriteFlags.createOnly | HLLWriteFlags.updateOnly) != (HLLWriteFlags.createOnly | HLLWriteFlags.updateOnly) else {
            throw .param("CREATE_ONLY with UPDATE_ONLY")
        }
    }

    private static func elements(_ v: Value) throws(CDTError) -> [[UInt8]] {
        guard case .list(let items, _) = v, !items.isEmpty else { throw .param("HLL elements are not a non-empty list") }
        return try items.map { (item) throws(CDTError) -> [UInt8] in
            switch item {
            case .list, .map: throw .param("HLL element is a list or map")
            default: return item.encoded
            }
        }
    }

    private static func sketches(_ v: Value) throws(CDTError) -> [HLLSketch] {
        let items: [Value]
        if case .list(let list, _) = v {
            guard !list.isEmpty else { throw .param("empty HLL list") }
            items = list
        } else {
            items = [v]
        }
        return try items.map { (item) throws(CDTError) -> HLLSketch in
            let bytes: Bytes
            switch item {
            case .blob(_, let b), .string(let b), .geojson(let b): bytes = b
            default: throw .param("HLL operand is not bytes")
            }
            guard let sketch = HLLSketch(validating: Array(bytes)) else { throw .param("HLL operand is not a valid HLL") }
            return sketch
        }
    }
}
