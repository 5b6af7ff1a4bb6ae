/**
 * Imported first by cli/main.ts, before anything can touch libuv's thread pool (it reads
 * UV_THREADPOOL_SIZE once, when first used). Every embedded ClickHouse statement holds one
 * of its threads until it finishes, and so do the WAL's writes and fsyncs: with Node's
 * default of 4, four long statements (ad-hoc SQL, a dashboard, a rule, a rollup refresh)
 * stalled an unrelated readFile for 4.5 s (measured 2026-12-04); with 16 it took 84 ms.
 * An operator's own setting wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16'
