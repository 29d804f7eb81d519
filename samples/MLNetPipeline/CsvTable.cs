using GradientHooks.Samples;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>
/// A delimited text file with a header line: the label column (named with --label: never guessed) and every other column
/// as a Single feature (unparsable cells become missing values, which the pipeline replaces). The separator is a tab if
/// the header has one, else a comma. The label is read as Single (regression), Boolean (binary: true/false or 1/0)
/// or text (multiclass); a label whose values do not fit the task is refused before training, naming a value and its row.
/// </summary>
public static class CsvTable
{
    /// <summary>Loads the file lazily with ML.NET's TextLoader; returns the view and the feature column names.</summary>
    /// <exception cref="SampleException">The file is missing, empty, has duplicate names, no --label or no such label column, or a label that does not fit the task.</exception>
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
        if (label is null) throw new SampleException($"--label: name the label column of '{path}'; its columns are {string.Join(", ", names)}.");
        var labelIndex = Array.IndexOf(names, label);
        if (labelIndex < 0) throw new SampleException($"--label: no column '{label}' in '{path}'; the header has {string.Join(", ", names)}.");

        CheckLabel(path, separator, label, labelIndex, task);
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

    /// <summary>The label's values in the first 1,000 rows fit the task: numbers for regression, true/false or 1/0 for binary.</summary>
    private static void CheckLabel(string path, char separator, string label, int index, TorchMlpTask task)
    {
        if (task == TorchMlpTask.MulticlassClassification) return;
        int row = 0;
        foreach (var line in File.ReadLines(path).Skip(1).Take(1000))
        {
            row++;
            if (line.Length == 0) continue;
            var cells = line.Split(separator);
            var value = index < cells.Length ? cells[index].Trim().Trim('"') : "";
            bool fits = task == TorchMlpTask.Regression
                ? double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
                : value is "0" or "1" || bool.TryParse(value, out _);
            if (!fits)
                throw new SampleException(task == TorchMlpTask.Regression
                    ? $"--label: column '{label}' holds '{value}' at row {row}; regression needs a numeric label (for classes, use --task multiclass)."
                    : $"--label: column '{label}' holds '{value}' at row {row}; binary classification needs true/false or 1/0 (for more classes, use --task multiclass).");
        }
    }
}
