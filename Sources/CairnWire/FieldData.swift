/// Typed readers for field data (PROTOCOL.md §4.2). Each checks the data size for its type and
/// throws ``MessageError/fieldSizeInvalid(typeRaw:sizeBytes:)`` otherwise.
extension Field {
    /// The data bytes as their own buffer.
    public func data(in body: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        rebased(body, dataRange)
    }

    /// u32 BE data (SOCKET_TIMEOUT, RECORDS_PER_SECOND).
    public func uint32BE(in body: UnsafeRawBufferPointer) throws(MessageError) -> UInt32 {
        guard dataSizeBytes == 4 else { throw .fieldSizeInvalid(typeRaw: typeRaw, sizeBytes: dataSizeBytes) }
        return loadUInt32BE(body, at: dataRange.lowerBound)
    }

    /// u64 BE data (TASK_ID, MAX_RECORDS).
    public func uint64BE(in body: UnsafeRawBufferPointer) throws(MessageError) -> UInt64 {
        guard dataSizeBytes == 8 else { throw .fieldSizeInvalid(typeRaw: typeRaw, sizeBytes: dataSizeBytes) }
        return loadUInt64BE(body, at: dataRange.lowerBound)
    }

    /// 20-byte DIGEST data (§6.1: a digest of another size is PARAMETER).
    public func digest(in body: UnsafeRawBufferPointer) throws(MessageError) -> Digest {
        guard dataSizeBytes == Digest.sizeBytes, let digest = Digest(body, at: dataRange.lowerBound) else {
            throw .fieldSizeInvalid(typeRaw: typeRaw, sizeBytes: dataSizeBytes)
        }
        return digest
    }

    /// UTF-8 text (NAMESPACE, SET, INDEX_NAME, UDF names); nil if not valid UTF-8.
    public func string(in body: UnsafeRawBufferPointer) -> String? {
        UTF8Text.decode(rebased(body, dataRange))
    }
}
