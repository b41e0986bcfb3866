extension CairnConfiguration {
    /// What cairnd runs with when it is given no `--config-file`: a laptop-sized setup.
    ///
    /// One namespace `test` on a 4 GiB sparse file `./var/data/test.dat`, the service port 3000 on
    /// 127.0.0.1 only (no info port), pid file `./var/run/cairnd.pid`, work directory `./var`,
    /// logging to the console at `info`; every other parameter at its default. Relative paths
    /// are resolved against the directory cairnd starts in (`resolvingPaths(relativeTo:)`).
    ///
    /// `parse(text: embeddedDefaultText, …)` yields exactly this value (a test checks it).
    public static let embeddedDefault = CairnConfiguration(
        service: ServiceConfig(
            workDirectory: "./var",
            pidFile: "./var/run/cairnd.pid",
            shmDirectory: ConfigLimits.shmDirectoryDefault
        ),
        logging: LoggingConfig(sinks: [LogSink(destination: .console, level: .info)]),
        network: NetworkConfig(service: NetworkEndpoint(address: "127.0.0.1", port: 3000), info: nil),
        namespaces: [
            NamespaceConfig(
                name: "test",
                storage: .device(
                    DeviceStorageConfig(backing: .files(["./var/data/test.dat"], sizeBytes: 4 * ConfigLimits.gibibyte))
                )
            )
        ]
    )

    /// `embeddedDefault` as configuration-file text, with comments: what `cairnctl` prints as a
    /// starting point for a configuration file.
    public static let embeddedDefaultText = """
        # Cairn's embedded default configuration: what cairnd runs when it is started without
        # --config-file. Relative paths are resolved against the directory cairnd starts in.
        # Every parameter is described in docs/configuration.md.

        service {
            work-directory ./var
            pidfile ./var/run/cairnd.pid
            shm-directory /dev/shm      # shared-memory index segments (warm restart)
        }

        logging {
            console {
                context any info
            }
        }

        network {
            service {
                address 127.0.0.1       # loopback only: no access control in Cairn
                port 3000
            }
        }

        namespace test {
            replication-factor 1
            default-ttl 0               # records never expire unless the client says so
            nsup-period 120
            storage-engine device {
                file ./var/data/test.dat
                filesize 4G             # created sparse: uses disk only as data is written
                write-block-size 1M
                flush-max-ms 1000
            }
        }

        """
}
