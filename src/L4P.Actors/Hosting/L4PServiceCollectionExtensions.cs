using L4P.Config;
using L4P.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace L4P.Hosting;

/// <summary>What the host needs besides the actors (<see cref="L4PAkkaExtensions.WithL4P"/>): metrics, the proxy handle, its lifetime.</summary>
public static class L4PServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ProxyMetrics"/> (unless the host registered its own), <see cref="L4PProxy"/>
    /// for <paramref name="config"/>, and <see cref="L4PHostedService"/>: start waits until the proxy
    /// listens, stop drains it. Pair it with <c>AddAkka(..., b => b.WithL4P(config))</c>.
    /// </summary>
    public static IServiceCollection AddL4P(this IServiceCollection services, ProxyConfig config, Action<L4PHostOptions>? configure = null)
    {
        var options = new L4PHostOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(_ => new ProxyMetrics());
        services.AddSingleton(options);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<L4PProxy>(sp, config));
        services.AddHostedService<L4PHostedService>();
        return services;
    }
}

/// <summary>Options of <see cref="L4PServiceCollectionExtensions.AddL4P"/>.</summary>
public sealed class L4PHostOptions
{
    /// <summary>The version in the "started" line.</summary>
    public string Version { get; set; } = typeof(L4PHostOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
