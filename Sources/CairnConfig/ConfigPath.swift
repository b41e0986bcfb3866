/// Lexical path handling for configuration paths. No file system access.
///
/// Relative paths in a configuration are resolved against the directory of the configuration
/// file (for the embedded default: the directory cairnd starts in). Resolution is lexical:
/// empty and `.` components are dropped; `..` components are kept, since folding them is wrong
/// when a component is a symbolic link.
enum ConfigPath {
    /// `path` with repeated slashes and `.` components removed (`./var//data` -> `var/data`);
    /// `.` for a relative path that names the current directory.
    static func normalized(_ path: String) -> String {
        let isAbsolute = path.hasPrefix("/")
        let components = path.split(separator: "/").filter { $0 != "." }
        let joined = components.joined(separator: "/")
        if isAbsolute {
            return "/" + joined
        }
        return joined.isEmpty ? "." : joined
    }

    /// `path` if absolute, else `path` under `base`; normalised either way.
    static func resolved(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") {
            return normalized(path)
        }
        return normalized(base + "/" + path)
    }

    /// The directory part of `path` (`/etc/cairn/cairn.conf` -> `/etc/cairn`, `cairn.conf` -> `.`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else {
            return "."
        }
        let directory = path[path.startIndex..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }
}

extension CairnConfiguration {
    /// This configuration with every relative path made absolute under `baseDirectory`.
    ///
    /// The paths are `work-directory`, `pidfile`, `shm-directory`, logging `file` sinks and every
    /// storage `device` and `file`. `load(path:)` calls this with the configuration file's
    /// directory; for `embeddedDefault`, cairnd passes the directory it starts in. Resolving
    /// twice changes nothing more. `baseDirectory` should itself be absolute.
    public func resolvingPaths(relativeTo baseDirectory: String) -> CairnConfiguration {
        precondition(!baseDirectory.isEmpty, "resolve paths against a directory, not an empty string")
        func resolve(_ path: String) -> String {
            ConfigPath.resolved(path, against: baseDirectory)
        }
        var copy = self
        copy.service.workDirectory = resolve(service.workDirectory)
        copy.service.pidFile = service.pidFile.map(resolve)
        copy.service.shmDirectory = resolve(service.shmDirectory)
        copy.modLuaUserPath = modLuaUserPath.map(resolve)
        copy.logging.sinks = logging.sinks.map { sink in
            switch sink.destination {
            case .console: sink
            case .file(let path): LogSink(destination: .file(resolve(path)), level: sink.level)
            }
        }
        copy.namespaces = namespaces.map { namespace in
            var resolved = namespace
            switch namespace.storage {
            case .device(var device):
                device.backing = device.backing.resolved(with: resolve)
                resolved.storage = .device(device)
            case .memory(var memory):
                memory.persistence = memory.persistence?.resolved(with: resolve)
                resolved.storage = .memory(memory)
            }
            return resolved
        }
        return copy
    }
}

extension StorageBacking {
    /// The same backing with `transform` applied to every path.
    fileprivate func resolved(with transform: (String) -> String) -> StorageBacking {
        switch self {
        case .devices(let paths): .devices(paths.map(transform))
        case .files(let paths, let sizeBytes): .files(paths.map(transform), sizeBytes: sizeBytes)
        }
    }
}
