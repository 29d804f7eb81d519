// Tests seed libtorch's global generator (torch.manual_seed) and then draw from it; run them one at a time so
// that no other test draws in between and every seeded model is the same on every run.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
