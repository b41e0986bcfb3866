import Testing

@testable import CairnParticle

@Suite struct GeoShapeTests {
    func shape(_ json: String) throws -> GeoShape { try GeoShape.parse(Array(json.utf8)) }
    func point(_ lng: Double, _ lat: Double) throws -> GeoShape { try shape("{\"type\":\"Point\",\"coordinates\":[\(lng),\(lat)]}") }

    let square = "{\"type\":\"Polygon\",\"coordinates\":[[[-1,-1],[1,-1],[1,1],[-1,1],[-1,-1]]]}"
    let clockwise = "{\"type\":\"Polygon\",\"coordinates\":[[[-1,-1],[-1,1],[1,1],[1,-1],[-1,-1]]]}"

    @Test func pointsInPolygonsWhicheverTheOrientation() throws {
        for text in [square, clockwise] {
            let region = try shape(text)
            #expect(GeoShape.matches(candidate: try point(0, 0), query: region))
            #expect(GeoShape.matches(candidate: try point(0.99, -0.99), query: region))
            #expect(!GeoShape.matches(candidate: try point(1.01, 0), query: region))
            #expect(!GeoShape.matches(candidate: try point(180, 0), query: region))
            // A region containing a point: the operands the other way round.
            #expect(GeoShape.matches(candidate: region, query: try point(0.5, 0.5)))
            #expect(!GeoShape.matches(candidate: region, query: try point(2, 0.5)))
        }
        // Point with point, region with region: never.
        #expect(!GeoShape.matches(candidate: try point(0, 0), query: try point(0, 0)))
        #expect(!GeoShape.matches(candidate: try shape(square), query: try shape(square)))
    }

    @Test func holesCirclesAndMultiPolygons() throws {
        let holed = try shape("""
            {"type":"Polygon","coordinates":[[[-2,-2],[2,-2],[2,2],[-2,2],[-2,-2]],[[-1,-1],[1,-1],[1,1],[-1,1],[-1,-1]]]}
            """)
        #expect(!holed.contains(GeoVector(latitudeDegrees: 0, longitudeDegrees: 0)))
        #expect(holed.contains(GeoVector(latitudeDegrees: 1.5, longitudeDegrees: 0)))
        // 1,000 m around (0, 0): 0.0089° of latitude is ~990 m, 0.0091° ~1,012 m.
        let circle = try shape("{\"type\":\"AeroCircle\",\"coordinates\":[[0,0],1000]}")
        #expect(circle.contains(GeoVector(latitudeDegrees: 0.0089, longitudeDegrees: 0)))
        #expect(!circle.contains(GeoVector(latitudeDegrees: 0.0091, longitudeDegrees: 0)))
        let multi = try shape("""
            {"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[10,10],[11,10],[11,11],[10,11],[10,10]]]]}
            """)
        #expect(multi.contains(GeoVector(latitudeDegrees: 10.5, longitudeDegrees: 10.5)))
        #expect(!multi.contains(GeoVector(latitudeDegrees: 5, longitudeDegrees: 5)))
        // A loop around the north pole (more than a hemisphere of longitude, still small).
        let polar = try shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,80],[90,80],[180,80],[-90,80],[0,80]]]}")
        #expect(polar.contains(GeoVector(latitudeDegrees: 89, longitudeDegrees: 45)))
        #expect(!polar.contains(GeoVector(latitudeDegrees: 0, longitudeDegrees: 45)))
    }

    @Test func aerospikesParseErrors() {
        for bad in [
            "[1,2]", "{\"coordinates\":[0,0]}", "{\"type\":\"Point\"}", "{\"type\":\"Point\",\"coordinates\":[0]}",
            "{\"type\":\"Point\",\"coordinates\":[0,91]}", "{\"type\":\"Line\",\"coordinates\":[0,0]}",
            "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}",
            "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}",
            "{\"type\":\"AeroCircle\",\"coordinates\":[[0,0]]}", "not json",
        ] {
            #expect(throws: GeoShape.Problem.self, "\(bad)") { try shape(bad) }
        }
    }

    @Test func geoCompareInExpressions() throws {
        func geo(_ s: String) -> Value { .geojson(Bytes(s.utf8)) }
        let record = ExpressionRecord(
            bins: [.init(name: "g", particleType: 23, bytes: Array("{\"type\":\"Point\",\"coordinates\":[0.5,0.5]}".utf8))],
            setName: nil, key: nil)
        let bin = Value.list([.int(81), .int(8), .blob(0x67, [])])
        #expect(try Expression.passes(try Expression.decode(Value.list([.int(8), bin, geo(square)]).encoded), record))
        #expect(try !Expression.passes(try Expression.decode(Value.list([.int(8), bin, geo(square.replacingOccurrences(of: "1", with: "0.1"))]).encoded), record))
        // A bin as clients send it: flags, a cell count of 0, then the JSON.
        let particle = ExpressionRecord(
            bins: [.init(name: "g", particleType: 23, bytes: [0, 0, 0] + Array("{\"type\":\"Point\",\"coordinates\":[0.5,0.5]}".utf8))],
            setName: nil, key: nil)
        #expect(try Expression.passes(try Expression.decode(Value.list([.int(8), bin, geo(square)]).encoded), particle))
        // A literal that does not parse is 4 before anything runs; an operand of another type too.
        #expect(throws: CDTError.self) { try Expression.decode(Value.list([.int(8), bin, geo("{}")]).encoded) }
        #expect(throws: CDTError.self) { try Expression.decode(Value.list([.int(8), bin, .int(1)]).encoded) }
    }
}
