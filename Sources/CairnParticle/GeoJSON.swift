import Foundation

/// GeoJSON as Aerospike's geo compare (expression op 8) reads it: a `Point`, or a region — a
/// `Polygon` (loops, each the smaller of the two areas its edges bound; a point is inside when
/// an odd number of loops hold it, so inner loops are holes), a `MultiPolygon` (any polygon) or
/// an `AeroCircle` (`[[lng, lat], radius in meters]` on a 6,371,000 m sphere). Edges are great-
/// circle arcs. Coordinates are `[longitude, latitude]` in degrees.
///
/// Aerospike (S2) moves a point to the centre of its level-30 cell (under a centimetre away);
/// Cairn keeps the exact point, so the two can differ only for a point that close to an edge.
public enum GeoShape: Sendable, Equatable {
    case point(GeoVector)
    case polygons([[GeoLoop]])
    case circle(center: GeoVector, radians: Double)

    public static let earthRadiusMeters = 6_371_000.0

    public struct Problem: Error, Equatable {
        public var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The JSON of a GeoJSON value: a bin's particle (a flags byte, a 2-byte big-endian cell
    /// count, the cells, then the JSON) or bare JSON (an expression literal).
    static func jsonText(_ bytes: [UInt8]) -> [UInt8] {
        guard let first = bytes.first, first != UInt8(ascii: "{"), first != UInt8(ascii: " "), bytes.count >= 3 else {
            return bytes
        }
        let cellsEnd = 3 + 8 * (Int(bytes[1]) << 8 | Int(bytes[2]))
        return cellsEnd <= bytes.count ? Array(bytes[cellsEnd...]) : bytes
    }

    /// Parses GeoJSON (Aerospike's accepted forms: a geometry object at the top level, or a
    /// `Feature` holding one), bare or as a bin's particle.
    public static func parse(_ value: [UInt8]) throws(Problem) -> GeoShape {
        let text = jsonText(value)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text)), let top = object as? [String: Any] else {
            throw Problem("GeoJSON is not a JSON object")
        }
        guard let type = top["type"] as? String else { throw Problem("missing top-level type") }
        if type == "Feature" {
            guard let geometry = top["geometry"] as? [String: Any] else { throw Problem("missing geometry element") }
            guard let inner = geometry["type"] as? String else { throw Problem("missing geometry type") }
            return try shape(inner, geometry["coordinates"])
        }
        return try shape(type, top["coordinates"])
    }

    private static func shape(_ type: String, _ coordinates: Any?) throws(Problem) -> GeoShape {
        guard let coordinates else { throw Problem("missing coordinates") }
        guard let array = coordinates as? [Any] else { throw Problem("coordinates are not array") }
        switch type {
        case "Point":
            return .point(try point(array))
        case "Polygon":
            return .polygons([try polygon(array)])
        case "MultiPolygon":
            var polygons: [[GeoLoop]] = []
            for item in array {
                guard let loops = item as? [Any] else { throw Problem("polygon body is not array") }
                polygons.append(try polygon(loops))
            }
            return .polygons(polygons)
        case "AeroCircle":
            guard array.count == 2, let center = array[0] as? [Any] else { throw Problem("malformed circle coordinate array") }
            guard let radius = number(array[1]) else { throw Problem("radius not numeric value") }
            return .circle(center: try point(center), radians: radius / earthRadiusMeters)
        default:
            throw Problem("unknown geometry type: \(type)")
        }
    }

    private static func number(_ value: Any) -> Double? {
        // JSONSerialization gives NSNumber (a JSON true or false too: read as 1 or 0).
        (value as? NSNumber)?.doubleValue
    }

    private static func point(_ pair: [Any]) throws(Problem) -> GeoVector {
        guard pair.count == 2 else { throw Problem("expected 2 coordinates, saw \(pair.count)") }
        guard let lng = number(pair[0]) else { throw Problem("longitude not numeric value") }
        guard let lat = number(pair[1]) else { throw Problem("latitude not numeric value") }
        guard abs(lat) <= 90, abs(lng) <= 180 else { throw Problem("invalid latitude-longitude") }
        return GeoVector(latitudeDegrees: lat, longitudeDegrees: lng)
    }

    private static func polygon(_ loops: [Any]) throws(Problem) -> [GeoLoop] {
        var result: [GeoLoop] = []
        for item in loops {
            guard let vertices = item as? [Any] else { throw Problem("vertices are not array") }
            var points: [GeoVector] = []
            for vertex in vertices {
                guard let pair = vertex as? [Any] else { throw Problem("coordinates are not array") }
                let p = try point(pair)
                if points.last != p { points.append(p) }
            }
            guard points.count >= 4 else { throw Problem("loop contains less than 4 points") }
            guard points.first == points.last else { throw Problem("loop not closed") }
            points.removeLast()
            result.append(GeoLoop(points))
        }
        return result
    }

    public var isRegion: Bool {
        if case .point = self { return false }
        return true
    }

    /// Whether the region holds `p` (false for a point).
    public func contains(_ p: GeoVector) -> Bool {
        switch self {
        case .point: return false
        case .circle(let center, let radians): return center.angle(to: p) <= radians
        case .polygons(let polygons):
            return polygons.contains { loops in loops.filter { $0.contains(p) }.count % 2 == 1 }
        }
    }

    /// Aerospike's geo compare of a candidate (the left operand) with a query (the right): a
    /// region candidate matches a point query it contains, a point candidate a region query that
    /// contains it; a point with a point, or a region with a region, never matches.
    public static func matches(candidate: GeoShape, query: GeoShape) -> Bool {
        switch (candidate, query) {
        case (.point, .point): return false
        case (_, .point(let p)): return candidate.contains(p)
        case (.point(let p), _): return query.contains(p)
        default: return false
        }
    }
}

/// A unit vector on the sphere.
public struct GeoVector: Sendable, Equatable {
    public var x, y, z: Double

    init(_ x: Double, _ y: Double, _ z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }

    public init(latitudeDegrees: Double, longitudeDegrees: Double) {
        let lat = latitudeDegrees * .pi / 180, lng = longitudeDegrees * .pi / 180
        self.init(cos(lat) * cos(lng), cos(lat) * sin(lng), sin(lat))
    }

    func cross(_ o: GeoVector) -> GeoVector { GeoVector(y * o.z - z * o.y, z * o.x - x * o.z, x * o.y - y * o.x) }
    func dot(_ o: GeoVector) -> Double { x * o.x + y * o.y + z * o.z }
    var norm: Double { dot(self).squareRoot() }
    func scaled(_ k: Double) -> GeoVector { GeoVector(x * k, y * k, z * k) }
    func plus(_ o: GeoVector) -> GeoVector { GeoVector(x + o.x, y + o.y, z + o.z) }
    var normalized: GeoVector { scaled(1 / norm) }

    /// The angle between two unit vectors, in radians (accurate for small and large angles).
    func angle(to o: GeoVector) -> Double { atan2(cross(o).norm, dot(o)) }
}

/// A closed loop of great-circle edges whose inside is the smaller of the two areas it bounds
/// (S2's normalised loop).
public struct GeoLoop: Sendable, Equatable {
    let vertices: [GeoVector]
    /// Whether the inside is to the right of the edges as given (the loop was clockwise).
    let isInsideOnTheRight: Bool
    /// A point just left of the first edge, and whether it lies inside.
    let reference: GeoVector

    init(_ vertices: [GeoVector]) {
        self.vertices = vertices
        // The area to the left of the edges is 2π minus the sum of the turning angles (signed,
        // left turns positive); the inside is the left area when that is at most half the sphere.
        var turning = 0.0
        let n = vertices.count
        for i in 0..<n {
            let a = vertices[(i + n - 1) % n], b = vertices[i], c = vertices[(i + 1) % n]
            let incoming = a.cross(b), outgoing = b.cross(c)
            // The turn at b: the angle from the incoming edge's normal to the outgoing one's.
            turning += atan2(incoming.cross(outgoing).dot(b), incoming.dot(outgoing))
        }
        let leftArea = 2 * Double.pi - turning
        isInsideOnTheRight = leftArea > 2 * Double.pi
        let a = vertices[0], b = vertices[1]
        let midpoint = a.plus(b).normalized
        let left = a.cross(b).normalized
        let step = min(1e-7, a.angle(to: b) * 1e-3)
        reference = midpoint.plus(left.scaled(step)).normalized
    }

    /// Whether the loop holds `p`: the arc from `p` to the reference point (left of the first
    /// edge) crosses the edges an even number of times when both are on the same side.
    public func contains(_ p: GeoVector) -> Bool {
        var crossings = 0
        let n = vertices.count
        for i in 0..<n where Self.crosses(p, reference, vertices[i], vertices[(i + 1) % n]) {
            crossings += 1
        }
        let isLeft = crossings % 2 == 0
        return isLeft != isInsideOnTheRight
    }

    /// Whether the arcs ab and cd cross at a point interior to both (both shorter than π).
    static func crosses(_ a: GeoVector, _ b: GeoVector, _ c: GeoVector, _ d: GeoVector) -> Bool {
        let ab = a.cross(b)
        let acb = -ab.dot(c), bda = ab.dot(d)
        guard acb * bda > 0 else { return false }
        let cd = c.cross(d)
        let cbd = -cd.dot(b), dac = cd.dot(a)
        return acb * cbd > 0 && acb * dac > 0
    }
}
