using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

public class AttachErrorTests
{
    [Fact]
    public void Attach_null_names_the_model_argument()
    {
        var e = Assert.Throws<ArgumentNullException>(() => GradientMonitor.Attach(null!));
        Assert.Equal("model", e.ParamName);
    }

    [Fact]
    public void A_model_without_trainable_parameters_is_refused_with_the_reason()
    {
        var model = Sequential(("fc", Linear(2, 2)));
        foreach (var p in model.parameters()) p.requires_grad = false;
        var e = Assert.Throws<ArgumentException>(() => GradientMonitor.Attach(model));
        Assert.Contains("no trainable parameters", e.Message);
        Assert.Contains("requires_grad = false", e.Message);
    }

    [Fact]
    public void Capture_before_backward_says_to_call_backward()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var e = Assert.Throws<InvalidOperationException>(() => monitor.Capture());
        Assert.Contains("loss.backward()", e.Message);
        Assert.Equal(0, monitor.StepCount);
    }

    [Fact]
    public void A_second_attach_is_refused_and_the_first_keeps_working()
    {
        var model = TestModels.Mlp();
        using var first = GradientMonitor.Attach(model);
        var e = Assert.Throws<InvalidOperationException>(() => GradientMonitor.Attach(model));
        Assert.Contains("already has a GradientMonitor", e.Message);
        Assert.Equal(2, first.HookedActivationCount);
    }

    [Fact]
    public void Use_after_dispose_says_what_to_do_and_names_a_Sequential_by_its_type()
    {
        var model = TestModels.Mlp();
        var monitor = GradientMonitor.Attach(model);
        var guard = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1));
        monitor.Dispose();
        var capture = Assert.Throws<ObjectDisposedException>(() => monitor.Capture());
        Assert.Contains("This GradientMonitor on 'Sequential' was disposed", capture.Message);
        Assert.Contains("GradientMonitor.Attach(model)", capture.Message);
        Assert.DoesNotContain("::", capture.Message);
        Assert.Throws<ObjectDisposedException>(() => monitor.Guard(torch.optim.SGD(model.parameters(), 0.1)));
        guard.Dispose();
        var step = Assert.Throws<ObjectDisposedException>(() => guard.step());
        Assert.Contains("monitor.Guard(optimizer, clipping)", step.Message);
    }

    [Fact]
    public void A_second_attach_names_a_Sequential_by_its_type_not_libtorchs_name()
    {
        var model = TestModels.Mlp();
        using var first = GradientMonitor.Attach(model);
        var e = Assert.Throws<InvalidOperationException>(() => GradientMonitor.Attach(model));
        Assert.StartsWith("Model 'Sequential' already has a GradientMonitor attached", e.Message);
    }

    [Theory]
    [InlineData(0, 1, "HistoryLength")]
    [InlineData(10, 0, "Every")]
    public void Invalid_options_name_the_option(int history, int every, string name)
    {
        var model = TestModels.Mlp();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GradientMonitor.Attach(model, new MonitorOptions { HistoryLength = history, Every = every }));
        Assert.Equal(name, e.ParamName);
        using var ok = GradientMonitor.Attach(model); // the failed attach left nothing behind
    }
}
