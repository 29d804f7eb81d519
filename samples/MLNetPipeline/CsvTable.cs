using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>
/// A delimited text file with a header line: the label column (default: the last) and every other column as a
/// Single feature (unparsable cells become missing values, which the pipeline replaces). The separator is a tab if
/// the header has one, else a comma. The label is read as Single (regression), Boolean (binary: true/false or 1/0)
/// or text (multiclass).
/// </summary>
public static class CsvTable
{
    /// <summary>Loads the file lazily with ML.NET's TextLoader; returns the view and the feature column names.</summary>
    /// <exception cref="SampleException">The file is missing, empty, has duplicate names or no such label column.</exception>
    public static (IDataView Data, string Label, string[] Features) Load(MLContext ml, string path, string? label, TorchMlpTask task)
    {
        if (!File.Exists(path)) throw new SampleException($"--data: no file at '{path}'.");
        var header = File.ReadLines(path).FirstOrDefault();
        if (string.IsNullOrWhiteSpace(header)) throw new SampleException($"--data: '{path}' is empty; expected a header line naming the columns.");
        var separator = header.Contains('\t') ? '\t' : ',';
        var names = header.Split(separator).Select(n => n.Trim().Trim('"')).ToArray();
        if (names.Length < 2) throw new SampleException($"--data: the header of '{path}' names {names.Length} column(s); expected a label and at least one feature.");
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new SampleException($"--data: column '{duplicate.Key}' appears twice in the header.");
        label ??= names[^1];
        var labelIndex = Array.IndexOf(names, label);
        if (labelIndex < 0) throw new SampleException($"--label: no column '{label}' in '{path}'; the header has {string.Join(", ", names)}.");

        var kind = task switch
        {
            TorchMlpTask.Regression => DataKind.Single,
            TorchMlpTask.BinaryClassification => DataKind.Boolean,
            _ => DataKind.String,
        };
        var columns = names.Select((name, i) => new TextLoader.Column(name, i == labelIndex ? kind : DataKind.Single, i)).ToArray();
        var data = ml.Data.LoadFromTextFile(path, columns, separatorChar: separator, hasHeader: true, allowQuoting: true);
        return (data, label, names.Where((_, i) => i != labelIndex).ToArray());
    }
}
