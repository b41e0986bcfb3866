@_exported import CairnModel

extension Digest {
    /// Appends the 20 bytes to a wire message.
    public func append(to writer: inout WireWriter) {
        writer.appendUInt64BE(word0)
        writer.appendUInt64BE(word1)
        writer.appendUInt32BE(word2)
    }

    /// Appends the 20 bytes to `output`.
    func appendBytes(to output: inout [UInt8]) {
        withUnsafeBytes { output.append(contentsOf: $0) }
    }
}


/// The KEY field (type 2) payload: one particle-type byte followed by the value (PROTOCOL.md
/// §4.2). Clients send it only with policy key=SEND; the server stores it and returns it in
/// scan rows. Helpers for tools and tests; a server can store the field data verbatim.
public enum UserKey {
    /// Field data for a user key: type byte + value bytes.
    public static func fieldData(_ value: ParticleValue) -> [UInt8] {
        var output: [UInt8] = [value.particleTypeRaw]
        value.appendWire(to: &output)
        return output
    }

    /// Decodes KEY field data. Accepts integer (8 bytes), float, string and blob-like types.
    public static func decode(fieldData: UnsafeRawBufferPointer) throws(MessageError) -> ParticleValue {
        guard !fieldData.isEmpty else {
            throw .fieldSizeInvalid(typeRaw: FieldType.key.rawValue, sizeBytes: 0)
        }
        let typeRaw = loadUInt8(fieldData, at: 0)
        let value = rebased(fieldData, 1..<fieldData.count)
        if typeRaw == ParticleType.integer.rawValue, value.count != ParticleValue.numberSizeBytes {
            throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count)
        }
        if typeRaw == ParticleType.null.rawValue || typeRaw == ParticleType.bool.rawValue {
            throw .particleValueInvalid(typeRaw: typeRaw)
        }
        return try ParticleValue.decode(typeRaw: typeRaw, value: value)
    }
}
