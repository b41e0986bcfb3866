import Foundation
import Testing

@testable import CairnConfig

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/cairn-config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() throws {
        try FileManager.default.removeItem(atPath: path)
    }
}

/// The error `load` throws for `path`, or `nil` when it loads.
func loadError(_ path: String) -> ConfigError? {
    do {
        _ = try CairnConfiguration.load(path: path)
        return nil
    } catch {
        return error
    }
}

@Suite struct LoadTests {
    @Test func missingFileNamesThePathAndErrno() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let path = scratch.path + "/absent.conf"
        let error = try #require(loadError(path))
        #expect(error.file == path)
        #expect(error.line == 0)
        #expect(error.message == "cannot open the configuration file: No such file or directory (errno 2)")
        #expect(error.description == "\(path): cannot open the configuration file: No such file or directory (errno 2)")
    }

    @Test func directoryIsRefused() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let error = try #require(loadError(scratch.path))
        #expect(error.description == "\(scratch.path): the configuration file is not a regular file")
    }

    @Test(.enabled(if: geteuid() != 0, "root reads files whatever their mode"))
    func unreadableFileNamesErrno() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let path = try scratch.write("secret.conf", CairnConfiguration.embeddedDefaultText)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: path)
        let error = try #require(loadError(path))
        #expect(error.message == "cannot open the configuration file: Permission denied (errno 13)")
    }

    @Test func parseErrorsNameThePath() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let path = try scratch.write("bad.conf", "network {\n    servce {\n    }\n}\n")
        let error = try #require(loadError(path))
        #expect(error.description == "\(path):2: unknown stanza 'servce' in network (did you mean 'service'?)")
    }

    @Test func invalidUTF8NamesItsLine() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let bytes = Array("service {\n    pidfile /run/".utf8) + [0xFF, 0xFE] + Array("\n}\n".utf8)
        let path = try scratch.write("latin.conf", bytes: bytes)
        let error = try #require(loadError(path))
        #expect(error.description == "\(path):2: line is not valid UTF-8")
    }

    @Test func oversizedFileIsRefused() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let path = try scratch.write("huge.conf", String(repeating: "#\n", count: ConfigLimits.fileSizeBytesMax))
        let error = try #require(loadError(path))
        #expect(error.line == 0)
        #expect(error.message == "the configuration file is larger than \(ConfigLimits.fileSizeBytesMax) bytes")
    }

    @Test func relativePathsResolveAgainstTheFilesDirectory() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let text = """
            service {
                work-directory .
                pidfile run/cairnd.pid
                shm-directory /dev/shm
            }
            logging {
                file ./log/cairn.log {
                    context any info
                }
            }
            network {
                service {
                    port 3000
                }
            }
            namespace test {
                storage-engine device {
                    file data/test.dat
                    file /abs/other.dat
                    filesize 1G
                }
            }
            namespace mem {
                storage-engine memory {
                    device ../devices/loop0
                }
            }
            """
        let path = try scratch.write("cairn.conf", text)
        let loaded = try CairnConfiguration.load(path: path)
        let directory = ConfigPath.normalized(scratch.path)
        #expect(loaded.service.workDirectory == directory)
        #expect(loaded.service.pidFile == directory + "/run/cairnd.pid")
        #expect(loaded.service.shmDirectory == "/dev/shm")
        #expect(loaded.logging.sinks.first?.destination == .file(directory + "/log/cairn.log"))
        #expect(
            loaded.namespace(named: "test")?.storage.backing?.paths == [directory + "/data/test.dat", "/abs/other.dat"])
        #expect(loaded.namespace(named: "mem")?.storage.backing?.paths == [directory + "/../devices/loop0"])
        let parsed = try CairnConfiguration.parse(text: text, fileName: path)
        #expect(loaded == parsed.resolvingPaths(relativeTo: directory))
    }

    @Test func embeddedDefaultTextLoadsFromAFile() throws {
        let scratch = try ScratchDirectory()
        defer { #expect(throws: Never.self) { try scratch.remove() } }
        let path = try scratch.write("default.conf", CairnConfiguration.embeddedDefaultText)
        let loaded = try CairnConfiguration.load(path: path)
        #expect(loaded == CairnConfiguration.embeddedDefault.resolvingPaths(relativeTo: scratch.path))
    }
}

@Suite struct ConfigPathTests {
    @Test func normalisation() {
        #expect(ConfigPath.normalized("./var//data/./x") == "var/data/x")
        #expect(ConfigPath.normalized("/a//b/") == "/a/b")
        #expect(ConfigPath.normalized("/") == "/")
        #expect(ConfigPath.normalized(".") == ".")
        #expect(ConfigPath.normalized("a/../b") == "a/../b")
    }

    @Test func resolution() {
        #expect(ConfigPath.resolved("./var", against: "/etc/cairn") == "/etc/cairn/var")
        #expect(ConfigPath.resolved("/dev/sdb", against: "/etc/cairn") == "/dev/sdb")
        #expect(ConfigPath.resolved(".", against: "/etc/cairn/") == "/etc/cairn")
    }

    @Test func directories() {
        #expect(ConfigPath.directory(of: "/etc/cairn/cairn.conf") == "/etc/cairn")
        #expect(ConfigPath.directory(of: "/cairn.conf") == "/")
        #expect(ConfigPath.directory(of: "cairn.conf") == ".")
        #expect(ConfigPath.directory(of: "conf/cairn.conf") == "conf")
    }

    @Test func relativeFileDirectoryIsMadeAbsolute() throws {
        let directory = try ConfigFileReader.absoluteDirectory(of: "conf/cairn.conf")
        let current = ConfigPath.normalized(FileManager.default.currentDirectoryPath)
        #expect(directory == current + "/conf")
    }
}
