/// CairnStorage: the on-device format, write buffers and flusher, defrag and the cold-start
/// scanner (DESIGN.md "On-device format", "Write path", "Restarts"). The format itself (pure encode and
/// decode functions, the block scanner) is in `Format/`; it is described for operators in FORMAT.md
/// beside this file.
public enum CairnStorageModule {}

// The digest and particle types are the model's, from the wire to the device.
@_exported import CairnModel
