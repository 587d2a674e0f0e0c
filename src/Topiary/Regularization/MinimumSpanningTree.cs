using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The Euclidean minimum spanning tree of a point cloud: the tree over all points whose total edge length is smallest.
/// The edges are chosen by Prim's algorithm on the pairwise distances, O(n²) time and memory, which suits a batch; the
/// length is then differentiable through the chosen edges' distances (the choice itself is piecewise constant).
/// </summary>
public static class MinimumSpanningTree
{
    /// <summary>The n − 1 edges (i, j) of a minimum spanning tree of the rows of <paramref name="points"/> (n, d); ties go to the lower index.</summary>
    /// <exception cref="ArgumentException">The points are not a matrix.</exception>
    public static IReadOnlyList<(int From, int To)> Edges(Tensor points)
    {
        if (points.dim() != 2) throw new ArgumentException($"points must be a matrix (n, d), got shape [{string.Join(", ", points.shape)}]", nameof(points));
        var n = (int)points.shape[0];
        if (n < 2) return Array.Empty<(int, int)>();
        double[] distances;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var p = points.detach().to(float64).cpu();
            distances = cdist(p, p).contiguous().data<double>().ToArray();
        }
        return Prim(distances, n);
    }

    /// <summary>Σ_{(i,j) ∈ MST} ‖z_i − z_j‖₂, with its graph through the chosen edges.</summary>
    public static Tensor Length(Tensor points)
    {
        var edges = Edges(points);
        if (edges.Count == 0) return zeros(1, dtype: points.dtype, device: points.device).sum();
        var from = tensor(edges.Select(e => (long)e.From).ToArray(), device: points.device);
        var to = tensor(edges.Select(e => (long)e.To).ToArray(), device: points.device);
        return points.index_select(0, from).sub(points.index_select(0, to)).norm(1).sum();
    }

    // Grows the tree from point 0, each time adding the outside point closest to it.
    private static (int From, int To)[] Prim(double[] distances, int n)
    {
        var inTree = new bool[n];
        var nearest = new double[n];
        var parent = new int[n];
        inTree[0] = true;
        for (var j = 1; j < n; j++) nearest[j] = distances[j];
        var edges = new (int, int)[n - 1];
        for (var added = 0; added < n - 1; added++)
        {
            var next = -1;
            for (var j = 0; j < n; j++)
                if (!inTree[j] && (next < 0 || nearest[j] < nearest[next])) next = j;
            edges[added] = (parent[next], next);
            inTree[next] = true;
            for (var j = 0; j < n; j++)
            {
                var d = distances[next * n + j];
                if (!inTree[j] && d < nearest[j])
                {
                    nearest[j] = d;
                    parent[j] = next;
                }
            }
        }
        return edges;
    }
}
