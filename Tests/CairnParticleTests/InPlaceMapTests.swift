import CairnTesting
import Testing
@testable import CairnParticle

/// The map writes on stored bytes (InPlaceCDT.mapWrite) against the general path (decode the
/// map, run the operation, encode it): identical bytes and results wherever the fast path
/// answers, and an answer of nil wherever the general path fails.
@Suite struct InPlaceMapTests {
    typealias Generator = InPlaceTests.Generator

    enum Outcome: Equatable {
        case written([UInt8], Value?)
        case failed(UInt8)
    }

    static func general(_ payload: [UInt8], _ map: [UInt8]) -> Outcome {
        do {
            let out = try CDTExecutor.execute(payload: payload, bin: .collection(try Value.decode(map)), isWrite: true)
            return .written(out.newValue!.encoded, out.result)
        } catch let e as CDTError {
            return .failed(e.code)
        } catch {
            return .failed(0)
        }
    }

    /// Runs `payload` both ways on `map`; records whether the fast path answered. Returns what
    /// the engine would store and answer (the fast path's, else the general path's).
    static func compare(_ payload: [UInt8], _ map: [UInt8], _ note: @autoclosure () -> String,
                        fastCount: inout Int, written: inout Int) -> Outcome {
        let slow = general(payload, map)
        if case .written = slow { written += 1 }
        guard let op = try? CDTOperation.decode(payload), let fast = InPlaceCDT.mapWrite(op, storedMap: map) else {
            return slow
        }
        fastCount += 1
        #expect(slow == .written(fast.bytes, fast.result), "\(note())")
        return .written(fast.bytes, fast.result)
    }

    struct Maps {
        var g: Generator

        /// A map key: integers (few, so that keys repeat), strings and generic blobs.
        mutating func key() -> Value {
            switch g.below(6) {
            case 0, 1: return .int(Int64(g.below(40)) - 10)
            case 2: return .int(Int64(bitPattern: g.next()) >> Int64(g.below(64)))
            case 3, 4: return .string(ArraySlice((0..<g.below(4)).map { _ in UInt8(0x61 + g.below(3)) }))
            default: return .blob(4, ArraySlice((0..<g.below(3)).map { _ in UInt8(g.below(3)) }))
            }
        }

        /// A stored map of `size` distinct keys: in key order (the stored form), except an
        /// unordered map now and then in the order the keys came.
        mutating func map(size: Int, flags: UInt8) -> [UInt8] {
            var entries: [MapEntry] = []
            var tries = 0
            while entries.count < size && tries < size * 20 {
                tries += 1
                let k = key()
                if entries.contains(where: { Value.compare($0.key, k) == 0 }) { continue }
                entries.append(MapEntry(k, g.value()))
            }
            if flags != 0 || g.below(4) != 0 { MapExecutor.sortByKey(&entries) }
            return Value.map(entries, flags: flags).encoded
        }

        /// A key of `map` (half the time), else a random key, now and then one of an invalid type.
        mutating func opKey(_ map: [UInt8]) -> Value {
            if g.below(20) == 0 { return [Value.double(1.5), .list([.int(1)]), .blob(5, [1]), .null][g.below(4)] }
            if g.below(2) == 0, case .map(let entries, _)? = try? Value.decode(map), !entries.isEmpty {
                return entries[g.below(entries.count)].key
            }
            return key()
        }

        mutating func writeFlags() -> Value? {
            switch g.below(10) {
            case 0...3: return nil
            case 4: return .int(0)
            case 5: return .int(Int64([1, 2, 4, 8, 5, 6, 12, 13, 14, 15, 3, 16][g.below(12)]))
            case 6: return .int(2)
            case 7: return .int(1)
            case 8: return .int(Int64(g.below(16)))
            default: return .string("x")
            }
        }

        mutating func putValue() -> Value {
            switch g.below(30) {
            case 0: return .wildcard
            case 1: return .list([.int(2), .int(1)], flags: 1)  // an ordered list out of order: 4
            default: return g.value()
            }
        }

        /// A random map write payload against `map`.
        mutating func payload(_ map: [UInt8]) -> [UInt8] {
            let order = Value.int(Int64([0, 1, 3][g.below(3)]))
            var args: [Value]
            switch g.below(8) {
            case 0, 1:  // put / add / replace
                let command = [MapCommand.put, .put, .add, .replace][g.below(4)]
                args = [.int(Int64(command.rawValue)), opKey(map), putValue()]
                if let f = writeFlags() { args += [order, f] } else if g.below(3) == 0 { args.append(order) }
            case 2, 3:  // put_items / add_items / replace_items
                let command = [MapCommand.putItems, .putItems, .addItems, .replaceItems][g.below(4)]
                var items: [MapEntry] = []
                for _ in 0..<g.below(5) {
                    let k = opKey(map)
                    if g.below(8) != 0 && items.contains(where: { Value.compare($0.key, k) == 0 }) { continue }
                    items.append(MapEntry(k, putValue()))
                }
                args = [.int(Int64(command.rawValue)), .map(items, flags: g.below(5) == 0 ? 1 : 0)]
                if let f = writeFlags() { args += [order, f] } else if g.below(3) == 0 { args.append(order) }
            default:  // increment / decrement
                let command = g.below(3) == 0 ? MapCommand.decrement : .increment
                args = [.int(Int64(command.rawValue)), opKey(map)]
                switch g.below(8) {
                case 0: break
                case 1: args.append(.null)
                case 2: args.append(.double(Double(g.below(100)) / 4 - 10))
                case 3: args.append(.string("1"))
                default: args.append(.int(Int64(g.below(600)) - 300))
                }
                if args.count == 3 && g.below(3) == 0 { args.append(order) }
            }
            if g.below(40) == 0 { args.append(.int(0)) }  // one argument too many (or a flags argument)
            return Value.list(args, flags: 0).encoded
        }
    }

    @Test func mapWritesMatchTheGeneralPathOnRandomMaps() throws {
        var m = Maps(g: Generator(state: 1313))
        var fast = 0, ops = 0, written = 0
        for round in 0..<1500 {
            let flags: UInt8 = [0, MapFlags.keyOrdered, MapFlags.keyValueOrdered][round % 3]
            // Sizes around the header forms' edges (fixmap holds 15 pairs, the flags pair counted).
            let size = [0, 1, 13, 14, 15, 16, m.g.below(30), m.g.below(80)][(round / 3) % 8]
            var map = m.map(size: size, flags: flags)
            // A sequence of writes on the map, each on the bytes the last one stored.
            for step in 0..<8 {
                let payload = m.payload(map)
                ops += 1
                let out = Self.compare(payload, map, "round \(round) step \(step): \(String(describing: try? Value.decode(payload))) on \(String(describing: try? Value.decode(map)))",
                                       fastCount: &fast, written: &written)
                if case .written(let bytes, _) = out { map = bytes }
            }
        }
        #expect(ops == 12_000)
        // Most writes the general path makes are covered (the rest: NO_FAIL skips, put_items on
        // an unordered map out of key order); errors never are.
        #expect(fast * 10 > written * 9, "\(fast) of \(written) writes (\(ops) operations) on the fast path")
        print("InPlaceMapTests: \(fast) of \(written) writes (\(ops) operations) on the fast path")
    }

    @Test func headerGrowsAcrossTheMap16AndMap32Forms() throws {
        var fast = 0, written = 0
        for flags in [UInt8(0), MapFlags.keyOrdered, MapFlags.keyValueOrdered] {
            // 15 pairs in all (the flags pair counted) is the last fixmap; 65,535 the last map16.
            for total in [15, 65535] {
                let n = flags == 0 ? total : total - 1
                let map = Value.map((0..<n).map { MapEntry(.int(Int64($0) * 2), .int(1)) }, flags: flags).encoded
                for payload in [
                    Value.list([.int(Int64(MapCommand.put.rawValue)), .int(7), .string("x")]),
                    Value.list([.int(Int64(MapCommand.increment.rawValue)), .int(-1), .int(5)]),
                    Value.list([.int(Int64(MapCommand.putItems.rawValue)), .map([MapEntry(.int(1), .int(1)), MapEntry(.int(2), .int(9))], flags: 0)]),
                ] {
                    let out = Self.compare(payload.encoded, map, "flags \(flags) total \(total)", fastCount: &fast, written: &written)
                    guard case .written(let bytes, _) = out else { Issue.record("failed"); continue }
                    #expect(bytes[0] == (total == 15 ? 0xde : 0xdf))
                }
            }
        }
        #expect(fast == 18)
    }

    @Test func declinesWhatItDoesNotCover() throws {
        func declines(_ args: [Value], map: [UInt8], context: Bool = false) throws -> Bool {
            var op = try CDTOperation.decode(Value.list(args, flags: 0).encoded)
            if context { op.context = [CDTContextItem(type: CDTContextItem.mapKey, value: .int(1))] }
            return InPlaceCDT.mapWrite(op, storedMap: map) == nil
        }
        let put = Int64(MapCommand.put.rawValue)
        let plain = Value.map([MapEntry(.int(1), .int(1))], flags: 0).encoded
        let ordered = Value.map([MapEntry(.int(1), .int(1))], flags: 1).encoded
        #expect(try !declines([.int(put), .int(1), .int(2)], map: plain))
        #expect(try !declines([.int(put), .int(1), .int(2)], map: ordered))
        #expect(try declines([.int(put), .int(1), .int(2)], map: plain, context: true), "a context")
        #expect(try declines([.int(Int64(MapCommand.removeByKey.rawValue)), .int(0), .int(1)], map: plain), "another command")
        #expect(try declines([.int(put), .int(1), .int(2), .int(0), .int(1)], map: plain), "CREATE_ONLY on an existing key")
        #expect(try declines([.int(put), .int(3), .int(2), .int(0), .int(6)], map: plain), "UPDATE_ONLY|NO_FAIL on a new key")
        #expect(try declines([.int(put), .double(1), .int(2)], map: plain), "an invalid key")
        #expect(try declines([.int(Int64(MapCommand.increment.rawValue)), .int(1), .string("a")], map: plain), "a non-numeric delta")
        // A flags ext with index bytes, or of flags the encoder does not write: general path.
        #expect(try declines([.int(put), .int(1), .int(2)], map: [0x82, 0xc7, 0x01, 0x11, 0x00, 0xc0, 0x01, 0x01]))
        #expect(try declines([.int(put), .int(1), .int(2)], map: [0x82, 0xc7, 0x00, 0x00, 0xc0, 0x01, 0x01]))
        // Not a map.
        #expect(try declines([.int(put), .int(1), .int(2)], map: Value.list([.int(1)]).encoded))
        #expect(try declines([.int(put), .int(1), .int(2)], map: []))
        // An unordered map out of key order: put_items (which sorts it first) declines, a put does not.
        let unsorted = Value.map([MapEntry(.int(2), .int(1)), MapEntry(.int(1), .int(1))], flags: 0).encoded
        #expect(try declines([.int(Int64(MapCommand.putItems.rawValue)), .map([MapEntry(.int(3), .int(1))], flags: 0)], map: unsorted))
        #expect(try !declines([.int(put), .int(3), .int(2)], map: unsorted))
    }
}
