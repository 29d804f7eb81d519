// Every run seeds libtorch's global generator; one at a time, so that no other test draws in between.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
