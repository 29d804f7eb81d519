using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>Scoring keeps no shared mutable state: concurrent cursors over one transformed view agree with a sequential read.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public void Concurrent_cursors_give_the_sequential_scores()
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(Synthetic.Quadrants(ml, 4000));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Class")
            .Append(ml.MulticlassClassification.Trainers.TorchMlp(epochs: 2, seed: 1, hiddenLayers: new[] { 256, 256 }));
        var scored = pipeline.Fit(data).Transform(data);
        var expected = scored.GetColumn<float[]>("Score").Select(s => s.ToArray()).ToArray();

        var results = new float[8][][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
            results[t] = scored.GetColumn<float[]>("Score").Select(s => s.ToArray()).ToArray());
        foreach (var result in results)
            Assert.Equal(expected.SelectMany(r => r), result.SelectMany(r => r));

        // ML.NET's own parallel cursor set splits the rows among cursors; together they cover the same scores.
        var column = scored.Schema["Score"];
        var cursors = scored.GetRowCursorSet(new[] { column }, 4);
        var seen = new System.Collections.Concurrent.ConcurrentBag<float>();
        Parallel.ForEach(cursors, cursor =>
        {
            using (cursor)
            {
                var get = cursor.GetGetter<VBuffer<float>>(column);
                var value = default(VBuffer<float>);
                while (cursor.MoveNext())
                {
                    get(ref value);
                    foreach (var v in value.DenseValues()) seen.Add(v);
                }
            }
        });
        Assert.Equal(expected.SelectMany(r => r).OrderBy(v => v), seen.OrderBy(v => v));
    }
}
