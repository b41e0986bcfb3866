@testable import CairnServer
import Testing

@Suite struct LatencyTests {
    @Test func bucketsArePowersOfTwoOfMilliseconds() {
        #expect(LatencyHistogram.bucket(nanoseconds: 0) == 0)
        #expect(LatencyHistogram.bucket(nanoseconds: 999_999) == 0)
        #expect(LatencyHistogram.bucket(nanoseconds: 1_000_000) == 1)
        #expect(LatencyHistogram.bucket(nanoseconds: 1_999_999) == 1)
        #expect(LatencyHistogram.bucket(nanoseconds: 2_000_000) == 2)
        #expect(LatencyHistogram.bucket(nanoseconds: 3_999_999) == 2)
        #expect(LatencyHistogram.bucket(nanoseconds: 4_000_000) == 3)
        #expect(LatencyHistogram.bucket(nanoseconds: 65_535_000_000) == 16)
        #expect(LatencyHistogram.bucket(nanoseconds: 65_536_000_000) == 17)
        #expect(LatencyHistogram.bucket(nanoseconds: UInt64.max) == 17)
    }

    @Test func recordCountsInItsBucket() {
        let histogram = LatencyHistogram()
        histogram.record(nanoseconds: 500_000)
        histogram.record(nanoseconds: 3_000_000)
        histogram.record(nanoseconds: 3_500_000)
        let counts = histogram.snapshot()
        #expect(counts.count == LatencyHistogram.bucketCount)
        #expect(counts[0] == 1)
        #expect(counts[2] == 2)
        #expect(counts.reduce(0, +) == 3)
    }

    @Test func sliceOversAreTotalMinusBucketsUpToTheThreshold() {
        var older = [UInt64](repeating: 0, count: 18)
        var newer = older
        older[0] = 5
        newer[0] = 5 + 50  // 50 under 1 ms
        newer[1] = 25  // 25 in [1, 2) ms
        newer[3] = 25  // 25 in [4, 8) ms
        let slice = LatencySlice(from: older, to: newer, seconds: 10)
        #expect(slice.operations == 100)
        #expect(slice.opsPerSecond == 10)
        #expect(slice.percentOver(exponent: 0) == 50)  // >1 ms
        #expect(slice.percentOver(exponent: 1) == 25)  // >2 ms
        #expect(slice.percentOver(exponent: 2) == 25)  // >4 ms
        #expect(slice.percentOver(exponent: 3) == 0)  // >8 ms
        let fields = slice.latenciesValue.split(separator: ",")
        #expect(fields.count == 2 + 17)
        #expect(fields[0] == "msec")
        #expect(fields[1] == "10.0")
        #expect(Array(fields[2...5]) == ["50.00", "25.00", "25.00", "0.00"])
        #expect(slice.legacyRow == "10.0,50.00,0.00,0.00")
    }

    @Test func emptySliceIsZero() {
        let zero = [UInt64](repeating: 0, count: 18)
        let slice = LatencySlice(from: zero, to: zero, seconds: 0)
        #expect(slice.latenciesValue == "msec,0.0" + String(repeating: ",0.00", count: 17))
    }

    @Test func fixedDecimals() {
        #expect(LatencySlice.format(0, decimals: 2) == "0.00")
        #expect(LatencySlice.format(12.345, decimals: 1) == "12.3")
        #expect(LatencySlice.format(99.999, decimals: 2) == "100.00")
        #expect(LatencySlice.format(3.05, decimals: 2) == "3.05")
        #expect(LatencyBook.clockText(86_399) == "23:59:59")
        #expect(LatencyBook.clockText(3_661) == "01:01:01")
    }

    @Test func bookListsBatchIndexThenPerNamespaceHistograms() {
        let book = LatencyBook(namespaceNames: ["bar", "test"])
        // The enable-benchmarks-* sub-phase histograms are listed only while enabled.
        #expect(book.entries.filter { $0.group == nil }.map(\.name) == [
            "batch-index", "{bar}-read", "{bar}-write", "{bar}-udf", "{bar}-query",
            "{test}-read", "{test}-write", "{test}-udf", "{test}-query",
        ])
        #expect(book.entries.filter { $0.groupName == "{test}-benchmarks-write" }.map(\.name) == [
            "{test}-write-start", "{test}-write-restart", "{test}-write-dup-res", "{test}-write-master",
            "{test}-write-repl-write", "{test}-write-response",
        ])
        let bytes = Array("test".utf8)
        let write = bytes.withUnsafeBytes { book.histogram(.write, namespaceBytes: $0) }
        #expect(write === book.histogram(.write, namespace: "test"))
        #expect(Array("nope".utf8).withUnsafeBytes { book.histogram(.read, namespaceBytes: $0) } == nil)
        write?.record(nanoseconds: 2_500_000)
        let value = book.latenciesValue(histogram: nil)
        let parts = value.split(separator: ";", omittingEmptySubsequences: false)
        #expect(parts.count == 9)
        #expect(parts.contains("{test}-read:"))
        let testWrite = parts.first { $0.hasPrefix("{test}-write:") }
        #expect(testWrite?.hasPrefix("{test}-write:msec,") == true)
        #expect(book.latenciesValue(histogram: "{test}-udf") == "{test}-udf:")
        #expect(book.latenciesValue(histogram: "{zzz}-read").hasPrefix("error"))
        #expect(book.legacyLatencyValue(histogram: "{test}-write").contains(",ops/sec,>1ms,>8ms,>64ms;"))
    }

    @Test func prometheusLabelsOfHistogramNames() {
        #expect(MetricsExposition.latencyLabels("{test}-read") == "namespace=\"test\",type=\"read\"")
        #expect(MetricsExposition.latencyLabels("{a-b}-query") == "namespace=\"a-b\",type=\"query\"")
        #expect(MetricsExposition.latencyLabels("batch-index") == "namespace=\"\",type=\"batch-index\"")
        #expect(MetricsExposition.latencyBucketBounds.first == 0.001)
        #expect(MetricsExposition.latencyBucketBounds.count == 17)
    }

    @Test func meterCountsFailuresByKindAndDeletesApart() {
        let book = LatencyBook(namespaceNames: ["test"])
        let bytes = Array("test".utf8)
        let write = bytes.withUnsafeBytes { book.meter(.write, isDelete: false, namespaceBytes: $0) }
        let delete = bytes.withUnsafeBytes { book.meter(.write, isDelete: true, namespaceBytes: $0) }
        write?.finish(since: 0, resultCodeRaw: 0)
        write?.finish(since: 0, resultCodeRaw: 5)
        delete?.finish(since: 0, resultCodeRaw: 2)
        delete?.finish(since: 0, resultCodeRaw: 0)
        let histogram = book.histogram(.write, namespace: "test")!
        #expect(histogram.snapshot().reduce(0, +) == 4)
        #expect(histogram.failures.load(histogram.failures.errors) == 1)
        #expect(histogram.failures.load(histogram.failures.notFound) == 1)
        let deletes = book.deleteCounts(namespace: "test")!
        #expect(deletes.load(deletes.total) == 2)
        #expect(deletes.load(deletes.notFound) == 1)
        #expect(InfoResponder.cacheReadPercent(hits: 1, deviceReads: 3) == 25)
        #expect(InfoResponder.cacheReadPercent(hits: 0, deviceReads: 0) == 0)
    }
}
