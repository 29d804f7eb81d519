using GradientHooks;
using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

torch.manual_seed(1);
// Three interleaved spirals, 300 points each: x [900, 2], y the class 0..2.
var r = torch.linspace(0.05, 1, 300).repeat(3);
var y = torch.arange(3).repeat_interleave(300);
var angle = r * 4 + y * (2 * Math.PI / 3);
var x = torch.stack(new[] { r * torch.sin(angle), r * torch.cos(angle) }, 1);
var model = new SpiralNet();

using var monitor = GradientMonitor.Attach(model);                                                // line 1
var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1), Clip.GlobalNorm(5.0));  // line 2

for (int step = 1; step <= 300; step++)
{
    using var scope = torch.NewDisposeScope();
    optimizer.zero_grad();
    var loss = functional.cross_entropy(model.call(x), y);
    loss.backward();
    monitor.Capture(loss);     // records the loss with the gradients, in the same transfer
    optimizer.step();          // clips, then steps
}
Console.WriteLine(monitor.Diagnose());

// A model as people write one: the head declared first, eight sigmoid layers in a ModuleList, .forward() calls.
sealed class SpiralNet : Module<Tensor, Tensor>
{
    private readonly Linear head = Linear(32, 3);
    private readonly ModuleList<Module<Tensor, Tensor>> body = new();

    public SpiralNet() : base(nameof(SpiralNet))
    {
        for (int i = 0; i < 8; i++) body.Add(Linear(i == 0 ? 2 : 32, 32));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        foreach (var layer in body) x = functional.sigmoid(layer.forward(x));
        return head.forward(x);
    }
}
