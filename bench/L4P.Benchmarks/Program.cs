using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/L4P.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(L4P.Benchmarks.ParserBenchmarks).Assembly).Run(args);
