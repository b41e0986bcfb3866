// CairnIndex: the primary index (DESIGN.md "Index").
//
// Files, from the outside in:
//   PrimaryIndex*.swift      the thread-safe index: records, iteration, counts, shared-file lifecycle
//   (the digest type, CairnModel.Digest, is re-exported from here)
//   IndexRecord.swift        the public value kept per record, and its limits
//   IndexConfiguration.swift sprig count, arena limits, lock stripes
//   SprigTree.swift          the treap of one sprig (top-down split/merge over arena handles)
//   SprigTable.swift         per-sprig root and counters, in a region of its own
//   StripedLocks.swift       one Mutex per cache line, guarding sprigs + a free-entry cache
//   EntryArena.swift         64-byte entries in mmap'd stages, addressed by 32-bit handles
//   IndexEntry.swift         the entry layout (bit widths) and its packing
//   IndexHeader.swift        the header that lets a later process re-attach shared files
//   MemoryRegion.swift       one mmap'd region: anonymous, or a shared file (create / attach)

@_exported import CairnModel
