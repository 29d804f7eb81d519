namespace GradientHooks.MLNet.Training;

/// <summary>
/// Patience-based early stopping on the validation loss: an epoch improves when its loss is below the best so far by
/// more than 0.1 % of the best (relative, as FastTree's tolerance rules); training stops after <c>patience</c> epochs in
/// a row without improvement. Patience 0 never stops.
/// </summary>
internal sealed class EarlyStopping
{
    private const double Tolerance = 1e-3;
    private readonly int _patience;
    private double _best = double.PositiveInfinity;
    private int _since;

    public EarlyStopping(int patience) => _patience = patience;

    /// <summary>Records an epoch's validation loss; true when it is the new best (a non-finite loss never is).</summary>
    public bool Improved(double loss)
    {
        bool better = double.IsFinite(loss) && (double.IsPositiveInfinity(_best) || loss < _best - Tolerance * Math.Abs(_best));
        if (better) { _best = loss; _since = 0; }
        else _since++;
        return better;
    }

    /// <summary>True once <c>patience</c> epochs in a row have not improved.</summary>
    public bool ShouldStop => _patience > 0 && _since >= _patience;
}
