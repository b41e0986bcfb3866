import CairnModel

/// What a service thread looks at in a request before it runs it: the namespace name and the
/// digest of a single-record message, read in place (no decode, no allocation), so the index
/// paths of all the requests a thread is about to run can be brought into cache together.
public enum MessagePeek {
    /// FIELD types (``FieldType``) this looks for.
    private static let namespaceType: UInt8 = 0
    private static let digestType: UInt8 = 4
    /// Fields looked at, at most: a single-record request carries its namespace and digest
    /// among its first few.
    private static let fieldCountMax = 8

    /// For an AS_MSG `body` (the bytes after the 8-byte proto header): its NAMESPACE field's
    /// bytes and its DIGEST, or `nil` when the body is malformed, truncated, or lacks either.
    /// Only a hint: the request is decoded and checked in full when it runs.
    public static func namespaceAndDigest(_ body: UnsafeRawBufferPointer) -> (namespace: UnsafeRawBufferPointer, digest: Digest)? {
        guard body.count >= MessageHeader.sizeBytes, loadUInt8(body, at: 0) == UInt8(MessageHeader.sizeBytes) else { return nil }
        let fieldCount = min(Int(loadUInt16BE(body, at: MessageHeader.fieldCountOffset)), fieldCountMax)
        var offset = MessageHeader.sizeBytes
        var namespace: UnsafeRawBufferPointer?
        var digest: Digest?
        for _ in 0..<fieldCount {
            guard offset + 5 <= body.count else { return nil }
            let sizeBytes = Int(loadUInt32BE(body, at: offset))  // type byte + data
            guard sizeBytes >= 1, sizeBytes <= body.count - offset - 4 else { return nil }
            let type = loadUInt8(body, at: offset + 4)
            let dataStart = offset + 5
            let dataCount = sizeBytes - 1
            if type == namespaceType {
                namespace = UnsafeRawBufferPointer(rebasing: body[dataStart..<(dataStart + dataCount)])
            } else if type == digestType, dataCount == Digest.sizeBytes {
                digest = Digest(body, at: dataStart)
            }
            if let namespace, let digest { return (namespace, digest) }
            offset = dataStart + dataCount
        }
        return nil
    }
}
