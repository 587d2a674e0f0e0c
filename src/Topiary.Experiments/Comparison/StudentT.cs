namespace Topiary.Comparison;

/// <summary>
/// Student's t distribution: its cumulative distribution through the regularized incomplete beta function,
/// F(t; ν) = 1 − ½·I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0 (Abramowitz and Stegun 26.7.1, 26.5.27), and its quantile by bisection.
/// For confidence intervals over a handful of seeds, where a table of three values would not do.
/// </summary>
public static class StudentT
{
    /// <summary>P(T ≤ <paramref name="t"/>) for <paramref name="degreesOfFreedom"/> &gt; 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The degrees of freedom are not positive.</exception>
    public static double Cdf(double t, double degreesOfFreedom)
    {
        if (!(degreesOfFreedom > 0)) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "must be > 0");
        if (double.IsNaN(t)) return double.NaN;
        if (double.IsInfinity(t)) return t > 0 ? 1 : 0;
        var tail = 0.5 * RegularizedIncompleteBeta(degreesOfFreedom / 2, 0.5, degreesOfFreedom / (degreesOfFreedom + t * t));
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>The t with P(T ≤ t) = <paramref name="p"/>, to about 1e-12 relative, for p in (0, 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">p is outside (0, 1) or the degrees of freedom are not positive.</exception>
    public static double Quantile(double p, double degreesOfFreedom)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "must lie in (0, 1)");
        if (!(degreesOfFreedom > 0)) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "must be > 0");
        if (p < 0.5) return -Quantile(1 - p, degreesOfFreedom);
        double low = 0, high = 1;
        while (Cdf(high, degreesOfFreedom) < p) high *= 2;
        // The CDF is increasing: bisect until the bracket is as narrow as doubles allow.
        for (var i = 0; i < 200 && high - low > 1e-14 * high; i++)
        {
            var middle = (low + high) / 2;
            if (Cdf(middle, degreesOfFreedom) < p) low = middle;
            else high = middle;
        }
        return (low + high) / 2;
    }

    /// <summary>I_x(a, b) by the continued fraction of Numerical Recipes (§6.4), on the side where it converges fast.</summary>
    private static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        var front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        return x < (a + 1) / (a + b + 2)
            ? front * ContinuedFraction(a, b, x) / a
            : 1 - front * ContinuedFraction(b, a, 1 - x) / b;
    }

    // Lentz's method for the continued fraction of I_x(a, b).
    private static double ContinuedFraction(double a, double b, double x)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        var h = d;
        for (var m = 1; m <= 1000; m++)
        {
            var m2 = 2 * m;
            foreach (var term in new[] { m * (b - m) * x / ((a + m2 - 1) * (a + m2)), -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)) })
            {
                d = 1 + term * d;
                d = 1 / (Math.Abs(d) < tiny ? tiny : d);
                c = 1 + term / c;
                if (Math.Abs(c) < tiny) c = tiny;
                h *= d * c;
            }
            if (Math.Abs(d * c - 1) < 1e-16) break;
        }
        return h;
    }

    // ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms), accurate to about 1e-15.
    private static double LogGamma(double x)
    {
        double[] coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        var sum = coefficients[0];
        for (var i = 1; i < coefficients.Length; i++) sum += coefficients[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
