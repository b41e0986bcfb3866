// The record decoder on arbitrary bytes, twice: as found (exercising the magic/size/CRC gates)
// and with the magic, size and CRC32C patched to be valid, so the fuzzer explores everything
// behind the checksum (flags, set name, user key, bins, particles, padding).
import CairnIO
import CairnStorage

func fuzzRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    _ = try? RecordFormat.decode(recordUntrusted: raw)

    let sizeBytes = size & ~15
    guard sizeBytes >= RecordFormat.recordSizeBytesMin, sizeBytes <= RecordFormat.recordSizeBytesLimit else { return 0 }
    var patched = Array(raw.prefix(sizeBytes))
    patched.withUnsafeMutableBytes { buffer in
        buffer.storeBytes(of: RecordFormat.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: UInt32(sizeBytes).littleEndian, toByteOffset: 4, as: UInt32.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<(sizeBytes - 4)]))
        buffer.storeBytes(of: crc.littleEndian, toByteOffset: sizeBytes - 4, as: UInt32.self)
    }
    patched.withUnsafeBytes { buffer in
        _ = try? RecordFormat.decodeSummary(recordUntrusted: buffer)
        _ = try? RecordFormat.decode(recordUntrusted: buffer)
    }
    return 0
}
