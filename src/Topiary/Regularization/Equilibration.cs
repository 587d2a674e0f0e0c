namespace Topiary.Regularization;

/// <summary>Which diagonal scaling <see cref="WeightConditioning"/> applies to a weight matrix (a kernel seen as out × in·k·k).</summary>
public enum Equilibration
{
    /// <summary>Row equilibration, W' = D·W with D = diag(1/‖W_i:‖₂): every row (neuron, filter) of W' has unit norm. The paper's default.</summary>
    Rows,

    /// <summary>Column equilibration, W' = W·E with E = diag(1/‖W_:j‖₂): every column (input) of W' has unit norm.</summary>
    Columns,

    /// <summary>Row then column equilibration, W' = D·W·E, E from the columns of D·W: columns of unit norm, rows close to it.</summary>
    RowsThenColumns,
}
