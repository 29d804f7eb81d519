using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Models;

/// <summary>
/// A character language model on TorchSharp's native <c>TransformerEncoder</c>, as a user writes one: the head declared
/// first, a learned positional embedding as the model's own parameter, a causal mask, <c>.forward()</c> on the
/// embedding and the head and <c>.call()</c> on the encoder.
/// </summary>
public sealed class TransformerLm : Module<Tensor, Tensor>
{
    private readonly Linear head;
    private readonly TransformerEncoder encoder;
    private readonly Embedding embed;
    private readonly Parameter position;
    private readonly int _context;

    /// <summary><paramref name="layers"/> encoder layers of width <paramref name="width"/> over a context of <paramref name="context"/> characters.</summary>
    public TransformerLm(int vocabulary, int width, int heads, int layers, int context) : base(nameof(TransformerLm))
    {
        _context = context;
        head = Linear(width, vocabulary);
        encoder = TransformerEncoder(TransformerEncoderLayer(width, heads, 4 * width, 0.1), layers);
        embed = Embedding(vocabulary, width);
        position = Parameter(torch.randn(context, width) * 0.02);
        RegisterComponents();
    }

    /// <summary>Logits [batch, time, vocabulary] for tokens [batch, time].</summary>
    public override Tensor forward(Tensor tokens)
    {
        long time = tokens.shape[1];
        var h = embed.forward(tokens) + position.narrow(0, 0, time);
        var mask = torch.triu(torch.full(time, time, float.NegativeInfinity), 1);
        var encoded = encoder.call(h.transpose(0, 1), mask).transpose(0, 1);
        return head.forward(encoded);
    }
}

/// <summary>A character language model: Embedding → GRU → Linear, the recurrent layer declared after the head.</summary>
public sealed class GruLm : Module<Tensor, Tensor>
{
    private readonly Linear decoder;
    private readonly GRU gru;
    private readonly Embedding embed;

    /// <summary>A GRU of <paramref name="hidden"/> units over 32-wide character embeddings.</summary>
    public GruLm(int vocabulary, int hidden) : base(nameof(GruLm))
    {
        decoder = Linear(hidden, vocabulary);
        gru = GRU(32, hidden, batchFirst: true);
        embed = Embedding(vocabulary, 32);
        RegisterComponents();
    }

    /// <summary>Logits [batch, time, vocabulary].</summary>
    public override Tensor forward(Tensor tokens)
    {
        var (output, _) = gru.forward(embed.forward(tokens));
        return decoder.forward(output);
    }
}
