/// Well-known on-disk signatures, so a refused device can be named ("an ext4 filesystem")
/// rather than only described as "non-zero bytes".
///
/// Offsets are from each format's public specification; only signatures that fall inside the
/// 128 KiB header region are listed. Matching is a hint for the operator, never a decision: any
/// non-zero, non-Cairn content is refused whether or not it is recognised.
struct ForeignSignature {
    let offset: Int
    let bytes: [UInt8]
    let name: String

    /// Most specific first: a GPT disk also carries a protective MBR.
    static let known: [ForeignSignature] = [
        ForeignSignature(offset: 0, bytes: [0x22, 0x03, 0x73, 0x75, 0x72, 0x74, 0x49, 0x43], name: "an Aerospike device header (drv_header magic)"),
        ForeignSignature(offset: 0, bytes: [0x43, 0x42, 0xEC, 0x01], name: "a Cairn data block at offset 0 (no device header; wrong device or offset?)"),
        ForeignSignature(offset: 0, bytes: Array("LUKS".utf8) + [0xBA, 0xBE], name: "a LUKS encrypted volume"),
        ForeignSignature(offset: 0, bytes: Array("XFSB".utf8), name: "an XFS filesystem"),
        ForeignSignature(offset: 0, bytes: Array("hsqs".utf8), name: "a squashfs image"),
        ForeignSignature(offset: 65_600, bytes: Array("_BHRfS_M".utf8), name: "a btrfs filesystem"),
        ForeignSignature(offset: 1_080, bytes: [0x53, 0xEF], name: "an ext2/ext3/ext4 filesystem"),
        ForeignSignature(offset: 1_024, bytes: [0x10, 0x20, 0xF5, 0xF2], name: "an F2FS filesystem"),
        ForeignSignature(offset: 512, bytes: Array("LABELONE".utf8), name: "an LVM physical volume"),
        ForeignSignature(offset: 512, bytes: Array("EFI PART".utf8), name: "a GPT partition table"),
        ForeignSignature(offset: 4_086, bytes: Array("SWAPSPACE2".utf8), name: "a Linux swap area"),
        ForeignSignature(offset: 32_769, bytes: Array("CD001".utf8), name: "an ISO 9660 image"),
        ForeignSignature(offset: 0, bytes: [0x7F, 0x45, 0x4C, 0x46], name: "an ELF executable"),
        ForeignSignature(offset: 510, bytes: [0x55, 0xAA], name: "an MBR partition table or boot sector"),
    ]

    /// Whether `region` carries this signature.
    func matches(_ region: UnsafeRawBufferPointer) -> Bool {
        guard offset + bytes.count <= region.count else { return false }
        for (index, byte) in bytes.enumerated() where region[offset + index] != byte { return false }
        return true
    }

    /// A one-line description of non-zero, non-Cairn content.
    static func describe(_ region: UnsafeRawBufferPointer) -> String {
        var nonZeroCount = 0
        var firstNonZero: Int?
        for index in 0..<region.count where region[index] != 0 {
            nonZeroCount += 1
            if firstNonZero == nil { firstNonZero = index }
        }
        let first = firstNonZero ?? 0
        let sample = hexBytes(region.slice(first..<min(first + 16, region.count)))
        let facts = "first non-zero byte at offset \(first) (\(sample)), \(nonZeroCount) of \(region.count) bytes non-zero"
        if let signature = known.first(where: { $0.matches(region) }) {
            return "\(signature.name); \(facts)"
        }
        return "unrecognised data; \(facts)"
    }
}
