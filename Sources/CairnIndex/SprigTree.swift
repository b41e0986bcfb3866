/// The ordered structure of one sprig: a **treap** of arena entries keyed by digest.
///
/// - Binary-search-tree order on the digest (`memcmp` order): left < node < right.
/// - Heap order on `priority`: a parent's priority is `>=` each child's.
/// - `priority` is a keyed hash of the digest (`priority(of:seed:)`) with a random per-index seed
///   kept in the header. The shape of a treap depends only on its keys and priorities, never on
///   the order of operations, so sorted insertion does not degrade it; and because the seed is
///   secret, clients that choose digests cannot build a degenerate tree. Expected depth is
///   `~2 ln n`; insert, remove and lookup are expected O(log n).
///
/// All operations are iterative and top-down (no parent links, no recursion, no allocation):
/// insert splits the subtree found at the new node's place, remove merges the two children.
/// A *link* is a pointer to the `UInt32` that holds a child handle: the sprig's root slot or a
/// `leftHandle` / `rightHandle` field inside an entry.
///
/// Owner: the caller holds the lock of the sprig's stripe for the whole operation, which is what
/// makes the raw pointers here safe to use.
struct SprigTree {
    /// The arena's addressing, not the arena: a tree is a short-lived view made inside an index
    /// operation, whose index keeps the arena alive, and a class reference here cost a retain
    /// and a release per operation.
    let arena: EntryArena.Addressing

    init(arena: EntryArena) { self.arena = arena.addressing }

    /// The result of `search`: `found` is the entry's handle (0 if absent); `link` holds `found`
    /// when present, else is where a new entry with the searched priority belongs.
    struct Search {
        var found: UInt32
        var link: UnsafeMutablePointer<UInt32>
    }

    /// Keyed hash of the digest (a multiply-xorshift mix; speed matters more than strength, the
    /// secret seed is what defeats chosen digests).
    @inline(__always)
    static func priority(of digest: Digest, seed: UInt64) -> UInt32 {
        var mixed = (digest.word0 ^ seed) &* 0x9E37_79B9_7F4A_7C15
        mixed ^= digest.word1 ^ (UInt64(digest.word2) << 29) ^ (mixed >> 31)
        mixed = (mixed ^ (mixed >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return UInt32(truncatingIfNeeded: mixed >> 32)  // the well-mixed high half
    }

    @inline(__always)
    static func leftLink(_ entry: UnsafeMutablePointer<IndexEntry>) -> UnsafeMutablePointer<UInt32> {
        (UnsafeMutableRawPointer(entry) + IndexEntry.leftHandleOffset).assumingMemoryBound(to: UInt32.self)
    }

    @inline(__always)
    static func rightLink(_ entry: UnsafeMutablePointer<IndexEntry>) -> UnsafeMutablePointer<UInt32> {
        (UnsafeMutableRawPointer(entry) + IndexEntry.rightHandleOffset).assumingMemoryBound(to: UInt32.self)
    }

    /// Finds `digest` below `rootLink`, and in the same descent the link where an entry with
    /// `priority` would be inserted (the first node on the path with a lower priority).
    @inline(__always)
    func search(_ digest: Digest, priority: UInt32, rootLink: UnsafeMutablePointer<UInt32>) -> Search {
        var link = rootLink
        var insertionLink: UnsafeMutablePointer<UInt32>? = nil
        var handle = link.pointee
        while handle != 0 {
            let node = arena.entry(handle)
            if insertionLink == nil && node.pointee.priority < priority { insertionLink = link }
            let order = digest.compare(
                word0: node.pointee.digestWord0, word1: node.pointee.digestWord1, word2: node.pointee.digestWord2)
            if order == 0 { return Search(found: handle, link: link) }
            link = order < 0 ? SprigTree.leftLink(node) : SprigTree.rightLink(node)
            handle = link.pointee
        }
        return Search(found: 0, link: insertionLink ?? link)
    }

    /// Finds `digest` below `root` (read only).
    @inline(__always)
    func find(_ digest: Digest, root: UInt32) -> UInt32 {
        var handle = root
        while handle != 0 {
            let node = arena.entry(handle)
            let order = digest.compare(
                word0: node.pointee.digestWord0, word1: node.pointee.digestWord1, word2: node.pointee.digestWord2)
            if order == 0 { return handle }
            handle = order < 0 ? node.pointee.leftHandle : node.pointee.rightHandle
        }
        return 0
    }

    /// Links the new entry `handle` (digest absent from the tree) at `link`, a `Search.link` of
    /// an absent search with the entry's priority: the subtree there is split around the digest
    /// into the new entry's left (smaller) and right (larger) children.
    func insert(_ handle: UInt32, at link: UnsafeMutablePointer<UInt32>) {
        let node = arena.entry(handle)
        let digest = node.pointee.digest
        var smallerLink = SprigTree.leftLink(node)
        var largerLink = SprigTree.rightLink(node)
        var current = link.pointee
        while current != 0 {
            let other = arena.entry(current)
            let order = digest.compare(
                word0: other.pointee.digestWord0, word1: other.pointee.digestWord1, word2: other.pointee.digestWord2)
            precondition(order != 0, "insert of a digest already in the sprig")
            if order > 0 {
                // `other` and its left subtree are smaller; its right subtree still needs splitting.
                smallerLink.pointee = current
                smallerLink = SprigTree.rightLink(other)
                current = other.pointee.rightHandle
            } else {
                largerLink.pointee = current
                largerLink = SprigTree.leftLink(other)
                current = other.pointee.leftHandle
            }
        }
        smallerLink.pointee = 0
        largerLink.pointee = 0
        link.pointee = handle
    }

    /// Unlinks the entry held by `link` (a `Search.link` of a present search), replacing it with
    /// the merge of its children. The entry's own fields are left as they were.
    func remove(at link: UnsafeMutablePointer<UInt32>) {
        let node = arena.entry(link.pointee)
        var smaller = node.pointee.leftHandle
        var larger = node.pointee.rightHandle
        var link = link
        while smaller != 0 && larger != 0 {
            let smallerNode = arena.entry(smaller)
            let largerNode = arena.entry(larger)
            if smallerNode.pointee.priority >= largerNode.pointee.priority {
                link.pointee = smaller
                link = SprigTree.rightLink(smallerNode)
                smaller = smallerNode.pointee.rightHandle
            } else {
                link.pointee = larger
                link = SprigTree.leftLink(largerNode)
                larger = largerNode.pointee.leftHandle
            }
        }
        link.pointee = smaller != 0 ? smaller : larger
    }

    /// Appends to `records`, in ascending digest order, the records of the tree at `root` whose
    /// digest is greater than `after` (all if `nil`), until `records.count == countMax`.
    /// Returns `true` if records beyond those copied remain. `stack` is scratch space (its
    /// capacity is kept between calls so that a scan allocates once).
    func copyInOrder(
        root: UInt32, after: Digest?, into records: inout [IndexRecord], countMax: Int, stack: inout [UInt32]
    ) -> Bool {
        stack.removeAll(keepingCapacity: true)
        var current = root
        while current != 0 {
            let node = arena.entry(current)
            if let after,
                after.compare(
                    word0: node.pointee.digestWord0, word1: node.pointee.digestWord1,
                    word2: node.pointee.digestWord2) >= 0
            {
                current = node.pointee.rightHandle  // this node and its left subtree are not after `after`
            } else {
                stack.append(current)
                current = node.pointee.leftHandle
            }
        }
        while let top = stack.last {
            if records.count >= countMax { return true }
            stack.removeLast()
            let node = arena.entry(top)
            records.append(node.pointee.record)
            current = node.pointee.rightHandle
            while current != 0 {
                stack.append(current)
                current = arena.entry(current).pointee.leftHandle
            }
        }
        return false
    }
}
