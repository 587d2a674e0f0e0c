// libtorch's global random generator (manual_seed) is process-wide: tests that seed it and compare
// two runs would race with any test running beside them, so the suite runs one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
