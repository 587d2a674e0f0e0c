namespace Topiary.Inference;

/// <summary>
/// A float32 matrix in compressed sparse row (CSR) form: the non-zeros of row r are
/// <c>Values[RowStart[r] .. RowStart[r+1])</c> at columns <c>ColumnIndex[…]</c>, increasing within a row.
/// </summary>
public sealed class CsrMatrix
{
    private CsrMatrix(int rows, int columns, int[] rowStart, int[] columnIndex, float[] values)
    {
        Rows = rows;
        Columns = columns;
        RowStart = rowStart;
        ColumnIndex = columnIndex;
        Values = values;
    }

    private CsrMatrix? paddedToEight;

    /// <summary>
    /// The same matrix with every row padded to a multiple of 8 entries by zeros at column 0, for the one-sample
    /// kernel: it then runs whole 8-lane gathers only, where a scalar tail of 1–7 entries per row cost as much as
    /// the gathers of a short row. Built on first use.
    /// </summary>
    internal CsrMatrix PaddedToEight => Volatile.Read(ref paddedToEight) ?? Publish(ref paddedToEight, PadRows(8));

    // A matrix is immutable once built, so two threads building the same one at once waste work but never disagree.
    private static CsrMatrix Publish(ref CsrMatrix? field, CsrMatrix built)
    {
        Volatile.Write(ref field, built);
        return built;
    }

    // One reference, published whole: concurrent forward calls may ask at once (both then build the same layout).
    private sealed record LaneBlockChoice(LaneBlockMatrix? Matrix);
    private LaneBlockChoice? laneBlocks;

    /// <summary>
    /// The one-sample layout of <see cref="LaneBlockKernel"/> where the CPU has AVX-512 and the layout is expected to
    /// beat the gather kernel on this matrix (<see cref="LaneBlockMatrix.IfFasterThanGathers"/>), else null. Worked out on first use.
    /// </summary>
    internal LaneBlockMatrix? LaneBlocks
    {
        get
        {
            if (Volatile.Read(ref laneBlocks) is { } chosen) return chosen.Matrix;
            var matrix = LaneBlockKernel.IsSupported && Rows > 0 && Columns > 0 ? LaneBlockMatrix.IfFasterThanGathers(this) : null;
            Volatile.Write(ref laneBlocks, new LaneBlockChoice(matrix));
            return matrix;
        }
    }

    private CsrMatrix PadRows(int multiple)
    {
        var rowStart = new int[Rows + 1];
        for (var r = 0; r < Rows; r++)
        {
            var length = RowStart[r + 1] - RowStart[r];
            rowStart[r + 1] = rowStart[r] + (length + multiple - 1) / multiple * multiple;
        }
        var columnIndex = new int[rowStart[Rows]];
        var values = new float[rowStart[Rows]];
        for (var r = 0; r < Rows; r++)
        {
            var length = RowStart[r + 1] - RowStart[r];
            Array.Copy(ColumnIndex, RowStart[r], columnIndex, rowStart[r], length);
            Array.Copy(Values, RowStart[r], values, rowStart[r], length);
        }
        return new CsrMatrix(Rows, Columns, rowStart, columnIndex, values);
    }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns.</summary>
    public int Columns { get; }

    /// <summary>Row pointers, length <see cref="Rows"/> + 1.</summary>
    public int[] RowStart { get; }

    /// <summary>Column of each stored value.</summary>
    public int[] ColumnIndex { get; }

    /// <summary>The non-zero values, row by row.</summary>
    public float[] Values { get; }

    /// <summary>Number of stored (non-zero) values.</summary>
    public int Nonzero => Values.Length;

    /// <summary>Nonzero / (Rows × Columns).</summary>
    public double Density => Rows == 0 || Columns == 0 ? 0 : (double)Nonzero / ((long)Rows * Columns);

    /// <summary>Keeps the non-zero entries of a row-major dense matrix.</summary>
    public static CsrMatrix FromDense(ReadOnlySpan<float> dense, int rows, int columns)
    {
        if (dense.Length != (long)rows * columns) throw new ArgumentException($"expected {rows}×{columns} values, got {dense.Length}", nameof(dense));
        var rowStart = new int[rows + 1];
        var count = 0;
        foreach (var v in dense) if (v != 0f) count++;
        var columnIndex = new int[count];
        var values = new float[count];
        var k = 0;
        for (var r = 0; r < rows; r++)
        {
            rowStart[r] = k;
            var row = dense.Slice(r * columns, columns);
            for (var c = 0; c < columns; c++)
            {
                if (row[c] == 0f) continue;
                columnIndex[k] = c;
                values[k++] = row[c];
            }
        }
        rowStart[rows] = k;
        return new CsrMatrix(rows, columns, rowStart, columnIndex, values);
    }
}
