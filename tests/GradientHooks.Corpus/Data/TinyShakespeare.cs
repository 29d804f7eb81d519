using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Corpus.Data;

/// <summary>tinyshakespeare_input.txt as character ids, and batches for truncated backpropagation through time.</summary>
public sealed class TinyShakespeare
{
    private readonly long[] _ids;

    /// <summary>Reads the first <paramref name="characters"/> characters of the file.</summary>
    public TinyShakespeare(int characters = 200_000)
    {
        var text = File.ReadAllText(SharedData.PathOf("tinyshakespeare_input.txt"));
        if (text.Length > characters) text = text[..characters];
        Vocabulary = text.Distinct().OrderBy(c => c).ToArray();
        var index = Vocabulary.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        _ids = text.Select(c => index[c]).ToArray();
    }

    /// <summary>The distinct characters, sorted.</summary>
    public char[] Vocabulary { get; }

    /// <summary>
    /// Chunk <paramref name="k"/> of <paramref name="batch"/> parallel streams: inputs and next-character targets,
    /// [batch, length] each; stream b reads from offset b·(n / batch), so consecutive chunks continue each stream.
    /// </summary>
    public (Tensor X, Tensor Y) Chunk(int batch, int length, int k)
    {
        long span = (_ids.Length - 1) / batch;
        long chunks = span / length;
        long at = (k % chunks) * length;
        var x = new long[batch * length];
        var y = new long[batch * length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < length; t++)
            {
                x[b * length + t] = _ids[b * span + at + t];
                y[b * length + t] = _ids[b * span + at + t + 1];
            }
        return (torch.tensor(x, new long[] { batch, length }), torch.tensor(y, new long[] { batch, length }));
    }
}
