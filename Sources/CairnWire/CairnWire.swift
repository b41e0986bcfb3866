/// CairnWire: the Aerospike wire protocol codec (frames, info, as_msg, fields, ops, particles).
/// Pure: no I/O, no dependency on the rest of Cairn.
public enum CairnWireModule {}
