// torch.manual_seed is process-wide: tests that check reproducibility must not interleave with other fits.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
