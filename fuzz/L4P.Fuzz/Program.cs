using L4P.Fuzz;
using SharpFuzz;

// Run under AFL++ by scripts/fuzz.sh: dotnet L4P.Fuzz.dll TARGET (input on stdin / AFL's file).
// With --replay FILE... it runs inputs directly (for regression checks of saved crashes).
if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: L4P.Fuzz TARGET [--replay FILE...]; targets: {string.Join(", ", Targets.All.Keys)}");
    return 2;
}
if (args.Length > 1 && args[1] == "--replay")
{
    foreach (var file in args.Skip(2)) target(File.ReadAllBytes(file));
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    target(ms.ToArray());
});
return 0;
