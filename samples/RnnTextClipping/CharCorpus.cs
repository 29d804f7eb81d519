using GradientHooks.Samples;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnTextClipping;

/// <summary>A character corpus: vocabulary, the encoded text split into training and validation parts, and TBPTT batches.</summary>
public sealed class CharCorpus
{
    private readonly Dictionary<char, int> _index;

    public CharCorpus(string text, string source, double validationFraction = 0.1)
    {
        Text = text;
        Source = source;
        Vocabulary = text.Distinct().OrderBy(c => c).ToArray();
        _index = Vocabulary.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        var encoded = text.Select(c => (long)_index[c]).ToArray();
        int split = (int)(encoded.Length * (1 - validationFraction));
        Train = encoded[..split];
        Validation = encoded[split..];
    }

    public string Text { get; }
    public string Source { get; }
    public char[] Vocabulary { get; }
    public long[] Train { get; }
    public long[] Validation { get; }

    public int Encode(char c) => _index.TryGetValue(c, out var i) ? i : 0;

    /// <summary>Reads a text file; a missing, empty or too short file is a <see cref="SampleException"/> saying which.</summary>
    public static CharCorpus FromFile(string path, int sequenceLength, int batchSize)
    {
        if (!File.Exists(path)) throw new SampleException($"--text: file '{path}' does not exist.");
        var text = File.ReadAllText(path);
        if (text.Length == 0) throw new SampleException($"--text: file '{path}' is empty.");
        var corpus = new CharCorpus(text, Path.GetFileName(path));
        corpus.CheckLength(sequenceLength, batchSize, $"--text: file '{path}'");
        return corpus;
    }

    /// <summary>Fails when one batch of <paramref name="batchSize"/> streams of <paramref name="sequenceLength"/> + 1 characters does not fit.</summary>
    public void CheckLength(int sequenceLength, int batchSize, string what)
    {
        long needed = (long)batchSize * (sequenceLength + 1);
        if (Train.Length < needed || Validation.Length < sequenceLength + 1)
            throw new SampleException($"{what} has {Text.Length} characters; a batch of {batchSize} sequences of {sequenceLength} needs at least {(long)(needed / 0.9) + 1} (lower --seq-len or give a longer text).");
    }

    /// <summary>
    /// A generated corpus with long-range structure an RNN must carry across many characters: quoted speech
    /// between recurring names, with brackets of three kinds nested up to four deep that must close in order.
    /// </summary>
    public static CharCorpus Generate(int length = 200_000, int seed = 7)
    {
        var random = new Random(seed);
        string[] names = { "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi" };
        string[] words = { "the", "red", "ball", "is", "here", "and", "there", "a", "small", "box", "of", "tea", "on", "my", "desk" };
        (char Open, char Close)[] brackets = { ('(', ')'), ('[', ']'), ('{', '}') };
        var sb = new StringBuilder(length + 200);
        void Phrase(int depth)
        {
            int n = random.Next(1, 4);
            for (int i = 0; i < n; i++)
            {
                if (i > 0) sb.Append(' ');
                if (depth < 4 && random.NextDouble() < 0.35)
                {
                    var (open, close) = brackets[random.Next(brackets.Length)];
                    sb.Append(open);
                    Phrase(depth + 1);
                    sb.Append(close);
                }
                else sb.Append(words[random.Next(words.Length)]);
            }
        }
        while (sb.Length < length)
        {
            var speaker = names[random.Next(names.Length)];
            sb.Append(speaker).Append(" said \"");
            Phrase(0);
            sb.Append("\" to ").Append(names[random.Next(names.Length)]).Append(", and ").Append(speaker).Append(" smiled.\n");
        }
        return new CharCorpus(sb.ToString(), "generated (nested brackets, quoted speech, recurring names)");
    }

    /// <summary>
    /// Truncated-BPTT batches: the text is cut into <paramref name="batchSize"/> parallel streams; chunk t of every
    /// stream is input, the same chunk shifted by one character is the target. Consecutive chunks continue each
    /// stream, so the hidden state carries over; <paramref name="wrapped"/> is true when a new pass starts.
    /// </summary>
    public (Tensor X, Tensor Y) Chunk(long[] data, int batchSize, int sequenceLength, long index, out bool wrapped)
    {
        long streamLength = (data.Length - 1) / batchSize;
        long chunks = Math.Max(1, streamLength / sequenceLength);
        long t = index % chunks;
        wrapped = t == 0;
        var x = new long[batchSize * sequenceLength];
        var y = new long[batchSize * sequenceLength];
        for (int b = 0; b < batchSize; b++)
            for (int s = 0; s < sequenceLength; s++)
            {
                long at = b * streamLength + t * sequenceLength + s;
                x[b * sequenceLength + s] = data[at];
                y[b * sequenceLength + s] = data[at + 1];
            }
        return (torch.tensor(x, new long[] { batchSize, sequenceLength }), torch.tensor(y, new long[] { batchSize, sequenceLength }));
    }
}
