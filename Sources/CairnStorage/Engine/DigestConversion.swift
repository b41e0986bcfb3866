import CairnIndex

extension RecordDigest {
    /// The index's digest for these 20 bytes (a word swap, no byte loop).
    @inline(__always)
    public var indexDigest: Digest {
        Digest(bigEndianWords: word0.byteSwapped, word1.byteSwapped, word2.byteSwapped)
    }

    /// The on-device digest for an index digest.
    @inline(__always)
    public init(_ digest: Digest) {
        let (w0, w1, w2) = digest.bigEndianWords
        self.init(word0: w0.byteSwapped, word1: w1.byteSwapped, word2: w2.byteSwapped)
    }
}
