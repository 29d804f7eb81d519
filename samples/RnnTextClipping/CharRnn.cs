using GradientHooks.Samples;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnTextClipping;

/// <summary>Character language model: Embedding → RNN (tanh), LSTM or GRU → Linear over the vocabulary.</summary>
public sealed class CharRnn : nn.Module
{
    private readonly Embedding embedding;
    private readonly nn.Module recurrent;
    private readonly Linear head;

    public CharRnn(string cell, int vocabulary, int hidden, int embeddingSize = 32) : base(nameof(CharRnn))
    {
        Cell = cell;
        embedding = nn.Embedding(vocabulary, embeddingSize);
        recurrent = cell switch
        {
            "lstm" => nn.LSTM(embeddingSize, hidden, batchFirst: true),
            "gru" => nn.GRU(embeddingSize, hidden, batchFirst: true),
            _ => nn.RNN(embeddingSize, hidden, batchFirst: true),
        };
        head = nn.Linear(hidden, vocabulary);
        RegisterComponents();
    }

    public string Cell { get; }

    /// <summary>Logits [batch, time, vocabulary] and the new recurrent state (h, or h and c for LSTM).</summary>
    public (Tensor Logits, Tensor[] State) Forward(Tensor x, Tensor[]? state)
    {
        var e = embedding.call(x);
        Tensor output;
        Tensor[] next;
        switch (recurrent)
        {
            case LSTM lstm:
            {
                var (o, h, c) = lstm.call(e, state is null ? null : (state[0], state[1]));
                (output, next) = (o, new[] { h, c });
                break;
            }
            case GRU gru:
            {
                var (o, h) = gru.call(e, state?[0]);
                (output, next) = (o, new[] { h });
                break;
            }
            default:
            {
                var (o, h) = ((RNN)recurrent).call(e, state?[0]);
                (output, next) = (o, new[] { h });
                break;
            }
        }
        return (head.call(output), next);
    }

    /// <summary>Samples <paramref name="length"/> characters after <paramref name="prompt"/> at the given temperature.</summary>
    public string Sample(CharCorpus corpus, string prompt, int length, double temperature, int seed)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        train(false);
        var random = new Random(seed);
        var text = new System.Text.StringBuilder(prompt);
        Tensor[]? state = null;
        Tensor logits = null!;
        foreach (var c in prompt)
            (logits, state) = Forward(torch.tensor(new long[] { corpus.Encode(c) }).reshape(1, 1), state);
        for (int i = 0; i < length; i++)
        {
            var probabilities = torch.softmax(logits.reshape(-1) / temperature, 0).data<float>().ToArray();
            double u = random.NextDouble(), acc = 0;
            int next = probabilities.Length - 1;
            for (int k = 0; k < probabilities.Length; k++) { acc += probabilities[k]; if (u < acc) { next = k; break; } }
            text.Append(corpus.Vocabulary[next]);
            (logits, state) = Forward(torch.tensor(new long[] { next }).reshape(1, 1), state);
        }
        train(true);
        return text.ToString();
    }
}
