/// CairnTesting: helpers shared by test targets (temporary files, loop devices, seeded data).
public enum CairnTestingModule {}
