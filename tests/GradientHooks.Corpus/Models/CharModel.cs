using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Models;

/// <summary>A character language model: Embedding → LSTM or tanh RNN → Linear, with the recurrent state returned for truncated BPTT.</summary>
public sealed class CharModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly Module rnn;
    private readonly Linear decoder;

    /// <summary><paramref name="lstm"/> picks LSTM over a vanilla tanh RNN.</summary>
    public CharModel(int vocabulary, int hidden, bool lstm) : base(nameof(CharModel))
    {
        embed = Embedding(vocabulary, 32);
        rnn = lstm ? LSTM(32, hidden, batchFirst: true) : RNN(32, hidden, batchFirst: true);
        decoder = Linear(hidden, vocabulary);
        RegisterComponents();
    }

    /// <summary>Logits [batch, time, vocabulary]; <paramref name="state"/> is replaced by the new, detached state.</summary>
    public Tensor Forward(Tensor x, ref Tensor[]? state)
    {
        var e = embed.forward(x);
        Tensor output;
        Tensor[] next;
        if (rnn is LSTM lstm)
        {
            var (o, h, c) = lstm.forward(e, state is null ? null : (state[0], state[1]));
            (output, next) = (o, new[] { h, c });
        }
        else
        {
            var (o, h) = ((RNN)rnn).forward(e, state?[0]);
            (output, next) = (o, new[] { h });
        }
        if (state != null) foreach (var t in state) t.Dispose();
        state = next.Select(t => t.detach().DetachFromDisposeScope()).ToArray();
        return decoder.forward(output);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        Tensor[]? state = null;
        var logits = Forward(x, ref state);
        foreach (var t in state!) t.Dispose();
        return logits;
    }
}
