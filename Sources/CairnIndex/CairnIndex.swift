/// CairnIndex: digests, partitions, sprigs and the index entries of the primary index, kept in an
/// arena addressed by integer handles so it can live in shared memory (DESIGN.md "Index").
public enum CairnIndexModule {}
